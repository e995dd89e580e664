#!/usr/bin/env python3
"""qtc compile --kv-cache-bits on a model with a KV cache, against
onnxruntime running the same ONNX file with a real-valued cache (MatMulNBits at accuracy_level 0).

    python3 kv_cache.py QTC WORKDIR MODEL.onnx

A prompt of PROMPT tokens, then DECODE single-token steps, each step a
library compiled for its static shapes, the present cache fed back as the
next past (quantized: codes, scales, mins). Checks, per width (8, 4, 2):
- the stored format, read by an independent numpy decoder: every decoded
  cache entry is within about half a quantization step of the real-valued
  cache of qtc's own unquantized run;
- past tokens keep their codes: values per token, keys per full group of
  GROUP tokens; their scales and mins are passed through unchanged;
- the logits of every step against onnxruntime's: small at 8 bits, and the
  error grows as the width shrinks.
Prints one line per check and "N passed, M failed".
"""
import json
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import Tally, accuracy_level_0  # noqa: E402

QTC, WORK, MODEL = sys.argv[1:4]
PROMPT, DECODE, GROUP = 6, 3, 4
tally = Tally()
check = tally.check


def rel_sq(got, want):
    got, want = got.astype(np.float64), want.astype(np.float64)
    return float(((got - want) ** 2).sum() / (want ** 2).sum())


# MatMulNBits at accuracy_level 0, the semantics qtc computes
# (fixtures/README.md).
session = ort.InferenceSession(accuracy_level_0(MODEL), providers=["CPUExecutionProvider"])
cache_names = [i.name for i in session.get_inputs() if i.name.startswith("past_key_values.")]
cache_shape = [i.shape for i in session.get_inputs() if i.name in cache_names][0]
heads = cache_shape[1]
head_dim = [o.shape for o in session.get_outputs() if o.name.startswith("present.")][0][3]
if not isinstance(head_dim, int):
    head_dim = 16  # the fixture's kv_cache_dim

rng = np.random.default_rng(3)
tokens = rng.integers(0, 100, size=(1, PROMPT + DECODE)).astype(np.int64)


def step_inputs(t, p):
    """Token ids and mask of the step that feeds tokens [p, p + t)."""
    return {"input_ids": tokens[:, p:p + t],
            "attention_mask": np.ones((1, p + t), np.int64)}


def steps():
    yield PROMPT, 0
    for i in range(DECODE):
        yield 1, PROMPT + i


# onnxruntime with a real-valued cache.
reference = []
cache = {n: np.zeros((1, heads, 0, head_dim), np.float32) for n in cache_names}
for t, p in steps():
    feeds = dict(step_inputs(t, p), **cache)
    names = [o.name for o in session.get_outputs()]
    out = dict(zip(names, session.run(None, feeds)))
    reference.append(out["logits"])
    cache = {n: out[n.replace("past_key_values.", "present.")] for n in cache_names}


def compile_run(tag, t, p, inputs, flags):
    lib = os.path.join(WORK, f"{tag}_{p}.so")
    subprocess.run([QTC, "compile", "--quiet", MODEL, "--emit", "shared", "-o", lib,
                    "--dim", "batch_size=1", f"--dim=sequence_length={t}",
                    f"--dim=past_sequence_length={p}", f"--dim=total_sequence_length={p + t}",
                    f"--dim=kv_cache_dim={head_dim}", *flags], check=True)
    npz = os.path.join(WORK, f"{tag}_{p}.npz")
    np.savez(npz, **inputs)
    out_dir = os.path.join(WORK, f"{tag}_{p}")
    subprocess.run([QTC, "run", lib, "--inputs", npz, "--output-dir", out_dir], check=True,
                   capture_output=True)
    meta = json.load(open(lib[:-3] + ".json"))
    return {o["name"]: np.load(os.path.join(out_dir, o["name"] + ".npy")) for o in meta["outputs"]}


def decode(codes, scales, mins, bits, per_channel):
    """Independent reader of the stored format: codes packed lsb first along
    the head dimension, value = code * scale + min."""
    per_byte = 8 // bits
    raw = codes.view(np.uint8).astype(np.int32)
    q = np.stack([(raw >> (c * bits)) & ((1 << bits) - 1) for c in range(per_byte)], -1)
    q = q.reshape(*codes.shape[:3], -1).astype(np.float32)
    s, m = scales.astype(np.float32), mins.astype(np.float32)
    if per_channel:
        s = np.repeat(s, GROUP, axis=2)[:, :, :q.shape[2]]
        m = np.repeat(m, GROUP, axis=2)[:, :, :q.shape[2]]
    else:
        g = q.shape[3] // s.shape[3]
        s, m = np.repeat(s, g, axis=3), np.repeat(m, g, axis=3)
    return q * s + m, s, m


# qtc with a real-valued cache: the same numerics as onnxruntime, and the
# cache the quantized runs are compared with.
plain = []
cache = {n: np.zeros((1, heads, 0, head_dim), np.float32) for n in cache_names}
for t, p in steps():
    out = compile_run("fp", t, p, dict(step_inputs(t, p), **cache), [])
    plain.append(out)
    cache = {n: out[n.replace("past_key_values.", "present.")] for n in cache_names}
err = max(rel_sq(o["logits"], r) for o, r in zip(plain, reference))
check("real-valued cache: logits of every step vs onnxruntime", err < 1e-8,
      f"max rel. sq. error {err:.2e}")

errors = {}
for bits in (8, 4, 2):
    flags = ["--kv-cache-bits", str(bits), "--kv-group-size", str(GROUP)]
    parts = ("codes", "scales", "mins")
    cache = {}
    for n in cache_names:
        per_channel = ".key" in n
        groups = (1, heads, 0, head_dim) if per_channel else (1, heads, 0, head_dim // GROUP)
        cache[n + ".codes"] = np.zeros((1, heads, 0, head_dim * bits // 8), np.int8)
        cache[n + ".scales"] = np.zeros(groups, np.float16)
        cache[n + ".mins"] = np.zeros(groups, np.float16)
    step_errors, worst_step, frozen_ok = [], 0.0, True
    for i, (t, p) in enumerate(steps()):
        out = compile_run(f"kv{bits}", t, p, dict(step_inputs(t, p), **cache), flags)
        step_errors.append(rel_sq(out["logits"], reference[i]))
        for n in cache_names:
            present = n.replace("past_key_values.", "present.")
            per_channel = ".key" in n
            got = {k: out[f"{present}.{k}"] for k in parts}
            # Format: decoded entries within about half a step of qtc's own
            # real-valued cache (the prompt step computes the same values).
            if i == 0:
                values, s, m = decode(got["codes"], got["scales"], got["mins"], bits,
                                      per_channel)
                want = plain[0][present]
                bound = 0.5 * s * (1 + (2 ** bits) / 1024) + np.abs(m) / 1024 + 1e-5
                excess = float((np.abs(values - want) - bound).max())
                check(f"{bits}-bit {present}: decoded prompt cache within half a step",
                      excess <= 0, f"max |error| - bound = {excess:.2e}")
            # Past tokens keep their codes (keys: full groups only).
            keep = p if not per_channel else (p // GROUP) * GROUP
            keep_groups = p if not per_channel else p // GROUP
            frozen_ok &= np.array_equal(got["codes"][:, :, :keep], cache[n + ".codes"][:, :, :keep])
            for k in ("scales", "mins"):
                frozen_ok &= np.array_equal(got[k][:, :, :keep_groups].view(np.uint16),
                                            cache[n + f".{k}"][:, :, :keep_groups].view(np.uint16))
            worst_step = max(worst_step, step_errors[-1])
        cache = {n + f".{k}": out[n.replace("past_key_values.", "present.") + f".{k}"]
                 for n in cache_names for k in parts}
    check(f"{bits}-bit: past codes, scales and mins passed through unchanged", frozen_ok,
          f"{DECODE} decode steps")
    errors[bits] = max(step_errors)
    fp_bytes = sum(4 * a.size for n, a in plain[-1].items() if n.startswith("present."))
    q_bytes = sum(a.nbytes for n, a in out.items() if n.startswith("present."))
    print(f"{bits}-bit cache: logits rel. sq. error per step "
          + ", ".join(f"{e:.2e}" for e in step_errors)
          + f"; cache {q_bytes} bytes vs {fp_bytes} real-valued")

check("8-bit cache: logits vs onnxruntime", errors[8] < 1e-4, f"max rel. sq. error {errors[8]:.2e}")
check("error grows as the cache narrows (8 < 4 < 2 bits)", errors[8] < errors[4] < errors[2],
      f"{errors[8]:.2e} < {errors[4]:.2e} < {errors[2]:.2e}")
check("2-bit cache still tracks the model", errors[2] < 0.5, f"max rel. sq. error {errors[2]:.2e}")
tally.finish()
