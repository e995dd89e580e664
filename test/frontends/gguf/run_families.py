#!/usr/bin/env python3
"""The model families built from GGUF files that llama.cpp's own converter
wrote (families/, gen_families.py) against llama.cpp and transformers.

    run_families.py FAMILIES_DIR

For each families/<name>.gguf (F32 weights), qtc compiles it in-process,
runs the 20 reference tokens, and compares the logits, per element and
relative to the largest |logit|:

- with llama.cpp's (llamacpp_<name>): at most 1e-4. Both compute in f32
  from the same weights, in another summation order (measured: <= 7e-7).
  The Gemmas: at most 2e-3, as ggml's f32 GELU rounds its input to f16 to
  index a table (measured 4.9e-4 for gemma2, 4.5e-5 for gemma3; with that
  rounding emulated the gap falls to ~1e-6, gen_families.py).
- with transformers' on the same checkpoint (transformers_<name>): at most
  1e-4 where llama.cpp computes the same function. For the Gemmas the GGUF
  file does not carry query_pre_attn_scalar or Gemma 3's layer pattern,
  and llama.cpp (so qtc reading the file) uses its defaults; there the
  transformers comparison is skipped and the report says so.

Prints one line per check and "N passed, M failed".
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python"))
import qtc  # noqa: E402

fam = sys.argv[1]
ref = np.load(os.path.join(fam, "reference.npz"))
tokens = ref["tokens"].astype(np.int64)[None]
T = tokens.shape[1]
# Families whose GGUF metadata describes the checkpoint exactly.
SAME_AS_HF = {"llama", "mistral", "qwen2", "qwen3", "llama3", "phi3"}
passed = failed = 0


def check(ok, line):
    global passed, failed
    print(("OK   " if ok else "FAIL ") + line)
    passed, failed = passed + bool(ok), failed + (not ok)


for name in ["llama", "mistral", "qwen2", "qwen3", "llama3", "gemma2", "gemma3_text", "phi3"]:
    model = qtc.compile(os.path.join(fam, f"{name}.gguf"), batch=1, seq=T, past=0)
    feeds = {}
    for p in model.inputs:
        if p.name == "input_ids":
            feeds[p.name] = tokens
        elif p.name == "position_ids":
            feeds[p.name] = np.arange(T, dtype=np.int64)[None]
        else:
            feeds[p.name] = np.zeros(p.shape, np.float32)
    got = model.run(feeds)["logits"][0]
    lc = ref[f"llamacpp_{name}"]
    scale = float(np.abs(lc).max())
    err = float(np.abs(got - lc).max()) / scale
    tol = 2e-3 if name.startswith("gemma") else 1e-4
    check(err <= tol, f"{name:12s} vs llama.cpp: {err:.1e} (<= {tol:.0e})")
    if name in SAME_AS_HF:
        hf = ref[f"transformers_{name}"]
        err = float(np.abs(got - hf).max()) / float(np.abs(hf).max())
        check(err <= 1e-4, f"{name:12s} vs transformers: {err:.1e} (<= 1e-4)")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
