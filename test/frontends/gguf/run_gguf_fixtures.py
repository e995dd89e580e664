#!/usr/bin/env python3
"""Numeric end-to-end test of the GGUF frontend on the tiny Llama fixtures.

    run_gguf_fixtures.py FIXTURES_DIR

FIXTURES_DIR holds tiny-llama-<TYPE>.gguf (one file per block type, made by
llama.cpp's own quantizer; see gen_fixtures.py) and reference.npz with the
token ids and, per file, two references for the logits at every position:

- exact_<TYPE>: a float64 numpy forward pass over the weights as gguf-py
  dequantizes them (an independent implementation of the model).
- llamacpp_<TYPE>: llama.cpp's own logits (llama-cpp-python, logits_all).

Each file is compiled in-process through the Python API (qtc.compile) and
run on the tokens; then a second build checks the KV-cache path: the first
T-1 tokens as a prompt, then one decoding step fed the returned keys and
values. Prints one line per check and "N passed, M failed".

Tolerances, per element, relative to the reference's largest |logit|:
- exact: 1e-5. qtc decodes every block losslessly and computes in f32
  (observed <= 6e-7); a wrong code, scale, min or grid value moves logits
  by percents.
- llama.cpp: it does not compute the same arithmetic. In quantized matmuls
  it rounds activations to 8-bit blocks (Q8_0 / Q8_K, 1/254 of each
  block's largest magnitude), for F16/BF16 weights to f16/bf16. Its logits
  differ from the exact result by up to 2.4e-2 (quantized), 4.7e-3 (BF16),
  6.5e-4 (F16) on these files; the bounds are 5e-2, 1e-2 and 2e-3, about
  twice that, and qtc must also pick the same argmax as llama.cpp wherever
  llama.cpp's top two logits are further apart than that bound.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python"))
import qtc  # noqa: E402

fixtures = sys.argv[1]
ref = np.load(os.path.join(fixtures, "reference.npz"))
tokens = ref["tokens"].astype(np.int64)[None]
T = tokens.shape[1]
TYPES = ["F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_S",
         "Q4_K_S", "Q5_K_S", "Q6_K", "IQ4_NL", "IQ4_XS"]
LLAMA_TOL = {"F16": 2e-3, "BF16": 1e-2}
passed = failed = 0


def check(ok, line):
    global passed, failed
    print(("OK   " if ok else "FAIL ") + line)
    if ok:
        passed += 1
    else:
        failed += 1


def feeds(model, ids, positions, past=None):
    inputs = {}
    for p in model.inputs:
        if p.name == "input_ids":
            inputs[p.name] = ids
        elif p.name == "position_ids":
            inputs[p.name] = positions
        else:
            inputs[p.name] = past[p.name] if past else np.zeros(p.shape, np.float32)
    return inputs


for t in TYPES:
    path = os.path.join(fixtures, f"tiny-llama-{t}.gguf")
    exact, llama = ref[f"exact_{t}"], ref[f"llamacpp_{t}"]
    scale = float(np.abs(exact).max())
    model = qtc.compile(path, batch=1, seq=T, past=0)
    got = model.run(feeds(model, tokens, np.arange(T, dtype=np.int64)[None]))["logits"][0]
    err = float(np.abs(got - exact).max()) / scale
    check(err <= 1e-5, f"{t:7s} logits vs exact dequantized weights: {err:.1e} (<= 1e-5)")
    tol = LLAMA_TOL.get(t, 5e-2)
    err_l = float(np.abs(got - llama).max()) / scale
    top2 = np.sort(llama, axis=-1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 2 * tol * scale
    same = bool(np.all(got.argmax(-1)[clear] == llama.argmax(-1)[clear]))
    check(err_l <= tol and same,
          f"{t:7s} logits vs llama.cpp: {err_l:.1e} (<= {tol:.0e}), same argmax at "
          f"{int(clear.sum())} clear positions: {same}")
    if t not in ("F16", "Q4_1", "Q4_K_S", "IQ4_XS"):
        continue
    # The KV-cache path: T-1 tokens, then one step with their keys and values.
    prompt = qtc.compile(path, batch=1, seq=T - 1, past=0)
    out = prompt.run(feeds(prompt, tokens[:, :-1], np.arange(T - 1, dtype=np.int64)[None]))
    step = qtc.compile(path, batch=1, seq=1, past=T - 1)
    past = {}
    for p in step.inputs:
        if p.name.startswith("past_key_values."):
            layer, kind = p.name.split(".")[1:3]
            past[p.name] = out[f"present.{layer}.{kind}"]
    last = step.run(feeds(step, tokens[:, -1:], np.array([[T - 1]], np.int64), past))["logits"][0, -1]
    err = float(np.abs(last - exact[-1]).max()) / scale
    check(err <= 1e-5, f"{t:7s} decoding step after {T - 1} cached tokens vs exact: {err:.1e} (<= 1e-5)")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
