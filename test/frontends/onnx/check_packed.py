#!/usr/bin/env python3
"""Checks the importer's packed weights against onnxruntime, numerically.

    python3 check_packed.py MODEL.onnx IMPORTED.mlir

For a model whose output is `x @ W` for one quantized weight W
(DequantizeLinear -> MatMul, MatMulNBits) or an embedding lookup
(GatherBlockQuantized), decodes the qt.quantized_matmul / qt.embedding
operands of the imported MLIR by the #qt.packed rules (docs/architecture.md),
independently of the C++ code, and compares them with what onnxruntime
computes on the original model: with x = identity (K x K) its output is W
itself; with ids = 0..V-1 the embedding output is the whole table.
Prints "OK <op> N=.. K=.. max|diff|=.." and exits 1 on a mismatch.
"""
import json
import re
import sys

import numpy as np
import onnx
import onnxruntime as ort

DTYPES = {"i8": np.int8, "f32": np.float32, "f16": np.float16, "i64": np.int64, "i32": np.int32}


def parse_constants(text):
    body, _, res = text.partition("{-#")
    blobs = dict(re.findall(r'^\s*([\w.]+): "0x([0-9A-Fa-f]*)"', res, re.M))
    consts = {}
    for name, value, shape, elem in re.findall(
            r"(%[\w]+) = arith.constant (dense(?:_resource)?<.*?>) : tensor<([\dx]*?)x?(i8|f32|f16|i64|i32)>", body):
        dims = [int(d) for d in shape.split("x") if d]
        dt = DTYPES[elem]
        if value.startswith("dense_resource"):
            raw = bytes.fromhex(blobs[value[len("dense_resource<"):-1]])[4:]
            arr = np.frombuffer(raw, dtype=dt).reshape(dims)
        else:
            lit = value[len("dense<"):-1]
            if lit.startswith("["):
                arr = np.array(json.loads(lit), dtype=dt).reshape(dims)
            else:
                arr = np.full(dims, float(lit) if "." in lit or "e" in lit else int(lit), dtype=dt)
        consts[name] = arr
    return consts


def decode(weights, scales, zp, fmt):
    m = re.match(r"(u|s)i(\d), group_size = (\d+), scale = \w+(, zero_point)?", fmt)
    signed, bits, group = m.group(1) == "s", int(m.group(2)), int(m.group(3))
    n, row_bytes = weights.shape
    k = row_bytes * 8 // bits
    raw = weights.view(np.uint8)
    bitstream = np.unpackbits(raw, axis=1, bitorder="little")  # [n, row_bytes*8]
    codes = bitstream[:, : k * bits].reshape(n, k, bits)
    values = (codes.astype(np.int64) << np.arange(bits)).sum(axis=2)
    if signed:
        values = np.where(values >= 1 << (bits - 1), values - (1 << bits), values)
    if zp is None:
        zero = np.full(scales.shape, 0 if signed else 1 << (bits - 1), dtype=np.float64)
    elif zp.dtype == np.int8:
        zero = (zp if signed else zp.view(np.uint8)).astype(np.float64)
    else:
        zero = zp.astype(np.float64)
    g = np.arange(k) // group
    return (values - zero[:, g]) * scales.astype(np.float64)[:, g]  # [n, k]


def main():
    model_path, mlir_path = sys.argv[1], sys.argv[2]
    text = open(mlir_path).read()
    consts = parse_constants(text)
    model = onnx.load(model_path)
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    op = re.search(r"= qt\.(quantized_matmul|embedding) (%\w+)(?:\[%\w+\])?(?:, (%\w+), (%\w+))?"
                   r"( scales\((%\w+) : [^)]*\))?( zero_points\((%\w+) : [^)]*\))? \{format = #qt.packed<([^>]*)>",
                   text)
    if not op:
        print("no packed op found")
        return 1
    kind = op.group(1)
    fmt = op.group(9)
    zp = consts[op.group(8)] if op.group(8) else None
    if kind == "quantized_matmul":
        w, s = consts[op.group(3)], consts[op.group(4)]
        ours = decode(w, s, zp, fmt).T  # [K, N]
        k = ours.shape[0]
        x = np.eye(k, dtype=np.float32)
        ref = sess.run(None, {inp.name: x})[0]
    else:
        w, s = consts[op.group(2)], consts[op.group(6)]
        ours = decode(w, s, zp, fmt)  # [V, D]
        ids = np.arange(ours.shape[0], dtype=np.int64).reshape(1, -1)
        ref = sess.run(None, {inp.name: ids})[0][0]
    diff = np.abs(ours - ref.astype(np.float64)).max()
    tol = 1e-5 * max(1.0, np.abs(ref).max())
    status = "OK" if diff <= tol and ours.shape == ref.shape else "MISMATCH"
    print(f"{status} {kind} shape={list(ours.shape)} format=<{fmt}> max|diff|={diff:.3g}")
    return 0 if status == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
