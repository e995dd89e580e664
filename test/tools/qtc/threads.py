#!/usr/bin/env python3
"""The thread pool of compiled models: `qtc run --threads N`,
QTC_NUM_THREADS and a program's `--threads N` give bit-identical outputs
(each weight tile is computed whole by one thread), and those outputs match
onnxruntime running the same int4 model.

    python3 threads.py QTC WORKDIR

The model is one MatMul (K = 1024, N = 768, 8 rows) quantized to int4 by
onnxruntime's MatMulNBits quantizer, large enough that
qt-tile-quantized-matmul splits it into weight tiles and shares them out
to the pool (6.3M multiply-accumulates, above parallel-min-macs).
Prints one line per check and "N passed, M failed".
"""
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import Tally, accuracy_level_0  # noqa: E402

QTC, WORK = sys.argv[1:3]
M, K, N = 8, 1024, 768
tally = Tally()
check = tally.check

rng = np.random.default_rng(7)
w = (rng.standard_normal((K, N)) / np.sqrt(K)).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")], "threads",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [M, K])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [M, N])],
    [onnx.numpy_helper.from_array(w, "w")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer  # noqa: E402
quantizer = MatMulNBitsQuantizer(model, block_size=32, is_symmetric=False)
quantizer.process()
path = os.path.join(WORK, "mm.onnx")
onnx.save(quantizer.model.model, path)
x = rng.standard_normal((M, K)).astype(np.float32)
np.save(os.path.join(WORK, "x.npy"), x)

lib = os.path.join(WORK, "mm.so")
exe = os.path.join(WORK, "mm")
subprocess.run([QTC, "compile", "--quiet", path, "--emit", "shared", "-o", lib], check=True)
subprocess.run([QTC, "compile", "--quiet", path, "--emit", "exe", "-o", exe], check=True)


def run(tag, cmd, env=None):
    out = os.path.join(WORK, tag)
    subprocess.run(cmd + ["--output-dir", out], check=True, capture_output=True,
                   env=dict(os.environ, **(env or {})))
    return np.load(os.path.join(out, "y.npy"))


x_arg = "x=" + os.path.join(WORK, "x.npy")
one = run("t1", [QTC, "run", lib, "--input", x_arg, "--threads", "1"])
results = {
    "qtc run --threads 2": run("t2", [QTC, "run", lib, "--input", x_arg, "--threads", "2"]),
    "qtc run --threads 3": run("t3", [QTC, "run", lib, "--input", x_arg, "--threads", "3"]),
    "QTC_NUM_THREADS=4 qtc run": run("env4", [QTC, "run", lib, "--input", x_arg],
                                     {"QTC_NUM_THREADS": "4"}),
    "program --threads 2": run("exe2", [exe, x_arg, "--threads", "2"]),
}
for label, got in results.items():
    check(f"{label} vs 1 thread", np.array_equal(got.view(np.uint32), one.view(np.uint32)),
          f"max|diff| = {float(np.abs(got - one).max()):.3g}")

ref = ort.InferenceSession(accuracy_level_0(path),
                           providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
diff = float(np.abs(one - ref).max())
tol = 2e-5 * max(1.0, float(np.abs(ref).max()))
check("1 thread vs onnxruntime", diff <= tol, f"max|diff| = {diff:.3g} (tolerance {tol:.3g})")
tally.finish()
