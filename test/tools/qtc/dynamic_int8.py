#!/usr/bin/env python3
"""Models quantized by onnxruntime's quantize_dynamic (int8 weights,
activations quantized at run time by DynamicQuantizeLinear, MatMulInteger)
compile and match onnxruntime.

    python3 dynamic_int8.py QTC FIXTURES WORKDIR

For each fp32 fixture (PyTorch exports, committed with their generator),
quantize_dynamic writes the int8 model here; qtc compiles it (`--emit
shared`, the fixture's input shapes) and runs it on the fixture's inputs,
and the outputs are compared with onnxruntime running the same int8 model.
Both sides compute the same integer products, so the bound is tight.
Prints one line per check and "N passed, M failed".
"""
import collections
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import Tally  # noqa: E402

QTC, FIXTURES, WORK = sys.argv[1:4]
tally = Tally()
check = tally.check

for name in ("bert_tiny", "gpt2_tiny", "llama_tiny"):
    src = os.path.join(FIXTURES, name + ".onnx")
    model = os.path.join(WORK, name + "_int8_dynamic.onnx")
    quantize_dynamic(src, model, weight_type=QuantType.QInt8)
    ops = collections.Counter(n.op_type for n in onnx.load(model).graph.node)
    check(f"{name}: quantized", ops["DynamicQuantizeLinear"] > 0 and ops["MatMulInteger"] > 0,
          f"{ops['DynamicQuantizeLinear']} DynamicQuantizeLinear, {ops['MatMulInteger']} MatMulInteger")
    io = np.load(os.path.join(FIXTURES, name + ".io.npz"))
    inputs = {k[3:]: v for k, v in io.items() if k.startswith("in.")}
    npz = os.path.join(WORK, name + "_inputs.npz")
    np.savez(npz, **inputs)
    lib = os.path.join(WORK, name + ".so")
    shapes = [f"--input-shape={n}=" + ",".join(map(str, a.shape)) for n, a in inputs.items()]
    p = subprocess.run([QTC, "compile", "--quiet", model, *shapes, "--emit", "shared", "-o", lib],
                       capture_output=True, text=True)
    check(f"{name}: compiles", p.returncode == 0, p.stderr.strip() or "ok")
    if p.returncode:
        continue
    out = os.path.join(WORK, name + "_out")
    p = subprocess.run([QTC, "run", lib, "--inputs", npz, "--output-dir", out],
                       capture_output=True, text=True)
    check(f"{name}: runs", p.returncode == 0, p.stderr.strip() or "ok")
    if p.returncode:
        continue
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    for o, want in zip(session.get_outputs(), session.run(None, inputs)):
        got = np.load(os.path.join(out, o.name + ".npy"))
        err = float(np.abs(got - want).max() / max(float(np.abs(want).max()), 1e-30))
        check(f"{name}: {o.name}", got.shape == want.shape and err <= 1e-4,
              f"max error relative to the output scale {err:.1e}")
tally.finish()
