#!/usr/bin/env python3
"""Int4 weight-only GEMV/GEMM: qtc against onnxruntime on the same model.

    python3 bench/matmulnbits.py [--qtc build/bin/qtc] [--m 1] [--k 4096]
                                 [--n 4096] [--runs 50] [--format nbits|bnb4]

With --format bnb4 the model is quantized by onnxruntime's MatMulBnb4
quantizer instead (bitsandbytes NF4, block 32: com.microsoft MatMulBnb4,
which qtc imports as codes on the NF4 grid), and onnxruntime runs that op.

Builds a one-node fp32 MatMul model, quantizes it with onnxruntime's own
MatMulNBits quantizer (4 bits, block 32, asymmetric), compiles it with
`qtc compile --emit shared`, and times `qtc run --bench` against an
onnxruntime session on the same inputs (accuracy_level 0, the exact fp32
semantics qtc computes, and accuracy_level 4, onnxruntime's int8-activation
shortcut). Prints median latencies, the ratio, and the fraction of the
memory-bandwidth roofline: weight bytes / latency over a measured copy
bandwidth (numpy, one large buffer, all threads onnxruntime would use).
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper


def build_model(path, m, k, n, fmt="nbits"):
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")], "bench",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
        [onnx.numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if fmt == "bnb4":
        from onnxruntime.quantization.matmul_bnb4_quantizer import MatMulBnb4Quantizer
        quant = MatMulBnb4Quantizer(model, MatMulBnb4Quantizer.NF4, 32)
        quant.process()
        onnx.save(quant.model.model, path)
        return
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    quant = MatMulNBitsQuantizer(model, block_size=32, is_symmetric=False)
    quant.process()
    onnx.save(quant.model.model, path)


def with_accuracy(path, level, out):
    model = onnx.load(path)
    for node in model.graph.node:
        if node.op_type == "MatMulNBits":
            attrs = [a for a in node.attribute if a.name != "accuracy_level"]
            del node.attribute[:]
            node.attribute.extend(attrs + [helper.make_attribute("accuracy_level", level)])
    onnx.save(model, out)
    return out


def time_ort(path, x, runs):
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    session.run(None, {"x": x})
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        session.run(None, {"x": x})
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3


def copy_bandwidth():
    """GB/s of a large memcpy (read + write), best of a few."""
    a = np.ones(256 << 20, dtype=np.uint8)
    b = np.empty_like(a)
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        np.copyto(b, a)
        best = max(best, 2 * a.nbytes / (time.perf_counter() - t) / 1e9)
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--qtc", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin", "qtc"))
    p.add_argument("--m", type=int, default=1)
    p.add_argument("--k", type=int, default=4096)
    p.add_argument("--n", type=int, default=4096)
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--format", choices=["nbits", "bnb4"], default="nbits",
                   help="onnxruntime quantizer: MatMulNBits (int4, asymmetric) or MatMulBnb4 (NF4)")
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="qtc-bench-")
    model = os.path.join(tmp, "matmulnbits.onnx")
    build_model(model, a.m, a.k, a.n, a.format)
    x = np.random.default_rng(1).standard_normal((a.m, a.k), dtype=np.float32)
    np.save(os.path.join(tmp, "x.npy"), x)
    lib = os.path.join(tmp, "model.so")
    t = time.perf_counter()
    subprocess.run([a.qtc, "compile", "--quiet", model, "--emit", "shared", "-o", lib], check=True)
    compile_s = time.perf_counter() - t
    out = subprocess.run([a.qtc, "run", lib, "--input", "x=" + os.path.join(tmp, "x.npy"),
                          "--output-dir", os.path.join(tmp, "out"), "--bench", str(a.runs)],
                         check=True, capture_output=True, text=True).stdout
    qtc_ms = float(re.search(r"median ([0-9.]+) ms", out).group(1))
    if a.format == "bnb4":
        peers = [("onnxruntime MatMulBnb4", time_ort(model, x, a.runs))]
        weight_bytes = a.k * a.n // 2 + (a.k // 32) * a.n * 4
        title = "MatMulBnb4 NF4 block 32"
    else:
        peers = [("onnxruntime accuracy_level=0",
                  time_ort(with_accuracy(model, 0, os.path.join(tmp, "acc0.onnx")), x, a.runs)),
                 ("onnxruntime accuracy_level=4",
                  time_ort(with_accuracy(model, 4, os.path.join(tmp, "acc4.onnx")), x, a.runs))]
        weight_bytes = a.k * a.n // 2 + (a.k // 32) * a.n * 4 + (a.k // 32) * a.n // 2
        title = "MatMulNBits int4 g32"
    bw = copy_bandwidth()
    def roof(ms):
        return weight_bytes / (ms * 1e-3) / 1e9 / bw
    print(f"{title} M={a.m} K={a.k} N={a.n}: weights {weight_bytes / 2**20:.1f} MiB, "
          f"copy bandwidth {bw:.1f} GB/s, qtc compile {compile_s:.1f} s")
    print(f"{'':28}{'median ms':>10}{'qtc/peer':>10}{'roofline':>10}")
    print(f"{'qtc':28}{qtc_ms:10.3f}{'':>10}{roof(qtc_ms):10.1%}")
    for label, ms in peers:
        print(f"{label:28}{ms:10.3f}{qtc_ms / ms:10.2f}{roof(ms):10.1%}")


if __name__ == "__main__":
    main()
