#!/usr/bin/env python3
"""Writes a model whose matmuls run on the runtime's thread pool, with its
inputs and onnxruntime's outputs, for the C API and Python tests:

    gen_pooled.py OUT_DIR   ->  OUT_DIR/pooled.onnx, OUT_DIR/pooled.io.npz

Two MatMuls (K = 1024 -> N = 768 -> 512, 8 rows), quantized to int4 by
onnxruntime's MatMulNBits quantizer (block 32, asymmetric), with a GELU
between them: 6.3M and 3.1M multiply-accumulates, above the tiling pass's
parallel-min-macs (4M) for the first, so its weight tiles are shared out to
the pool. The .io.npz holds `in.x` and `out.y` as onnxruntime computes them
with MatMulNBits at accuracy_level 0 (fp32 activations, as qtc computes).
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools", "qtc"))
from checks import accuracy_level_0  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
M, K, N, P = 8, 1024, 768, 512
rng = np.random.default_rng(11)
w1 = (rng.standard_normal((K, N)) / np.sqrt(K)).astype(np.float32)
w2 = (rng.standard_normal((N, P)) / np.sqrt(N)).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w1"], ["h"], name="up"),
     helper.make_node("Gelu", ["h"], ["g"], name="act"),
     helper.make_node("MatMul", ["g", "w2"], ["y"], name="down")],
    "pooled",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [M, K])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [M, P])],
    [onnx.numpy_helper.from_array(w1, "w1"), onnx.numpy_helper.from_array(w2, "w2")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
quantizer = MatMulNBitsQuantizer(model, block_size=32, is_symmetric=False)
quantizer.process()
path = os.path.join(out, "pooled.onnx")
onnx.save(quantizer.model.model, path)
x = rng.standard_normal((M, K)).astype(np.float32)
session = ort.InferenceSession(accuracy_level_0(path), providers=["CPUExecutionProvider"])
(y,) = session.run(None, {"x": x})
np.savez(os.path.join(out, "pooled.io.npz"), **{"in.x": x, "out.y": y})
