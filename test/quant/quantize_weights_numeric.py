#!/usr/bin/env python3
"""Numeric test of qt-quantize-weights through the CPU backend.

    python3 quantize_weights_numeric.py QTC_OPT MLIR_RUNNER RUNNER_UTILS C_RUNNER_UTILS

For seeded Gaussian weights in both matmul layouts (B as K x N, and N x K
through indexing maps), at 2, 3, 4 and 8 bits, symmetric and asymmetric,
runs `qt-quantize-weights` and checks, independently of qtc's quantizer:

- the packed codes, scales and zero points it wrote (read back from the
  module's resource blobs and decoded by numpy from the #qt.packed
  definition) are what the compiled code multiplies by: the JIT result of
  the quantized module equals x @ decoded(W)^T;
- the decoded weight stays close to the original (relative Frobenius error
  under a per-width bound: it can only be met with round-to-nearest codes
  on a good range), and the error falls as bits grow;
- weights lying on a 4-bit grid come back exactly, so the quantized model
  equals the fp32 model;
- with grid=nf4 / grid=iq4nl (non-uniform 4-bit grids), the codes index the
  format's `levels` (read from the printed #qt.packed), the JIT runs them,
  the error on these Gaussian weights is below evenly spaced 4-bit codes',
  and weights lying on the grid come back exactly.

Prints one line per case and "N passed, M failed".
"""
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import jit  # noqa: E402

TOOLS = tuple(sys.argv[1:5])
QTC_OPT = TOOLS[0]
rng = np.random.default_rng(7)

# Relative Frobenius error of Gaussian weights at group 32 that
# round-to-nearest on a searched range stays under. Scaling each group to
# its largest magnitude (scale = max / (2^(b-1) - 1)) gives 0.66, 0.22,
# 0.096 and 0.0052 on these weights, so the 2-, 3- and 4-bit bounds need
# the search.
BOUNDS = {2: 0.36, 3: 0.19, 4: 0.09, 8: 0.0065}


def module(x, w, transposed_b):
    m, k = x.shape
    n = w.shape[0]
    b = w if transposed_b else w.T
    maps = ""
    attrs = ""
    if transposed_b:
        maps = ("#a = affine_map<(m, n, k) -> (m, k)>\n#b = affine_map<(m, n, k) -> (n, k)>\n"
                "#c = affine_map<(m, n, k) -> (m, n)>\n")
        attrs = " indexing_maps = [#a, #b, #c]"
    return f"""{maps}func.func @main() {{
  %x = arith.constant dense<{jit.literal(x)}> : tensor<{m}x{k}xf32>
  %w = arith.constant dense<{jit.literal(b)}> : tensor<{b.shape[0]}x{b.shape[1]}xf32>
  %zero = arith.constant 0.0 : f32
  %i = tensor.empty() : tensor<{m}x{n}xf32>
  %z = linalg.fill ins(%zero : f32) outs(%i : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %y = linalg.matmul{attrs} ins(%x, %w : tensor<{m}x{k}xf32>, tensor<{b.shape[0]}x{b.shape[1]}xf32>) outs(%z : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %buf = bufferization.to_buffer %y : tensor<{m}x{n}xf32> to memref<{m}x{n}xf32>
  %u = memref.cast %buf : memref<{m}x{n}xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}}
func.func private @printMemrefF32(memref<*xf32>)
"""


def quantize(text, bits, group, asym, grid=None):
    opts = f"bits={bits} group-size={group}" + (" asym" if asym else "") + (f" grid={grid}" if grid else "")
    out = subprocess.run([QTC_OPT, f"--qt-quantize-weights={opts}", "--canonicalize"],
                         input=text, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return out.stdout


def blobs(text):
    """name -> raw bytes of every dense_resource blob (after the 4-byte
    alignment header)."""
    return {name: bytes.fromhex(hexdata)[4:]
            for name, hexdata in re.findall(r'([\w.]+): "0x([0-9A-Fa-f]+)"', text)}


def decoded_weight(text, n, k):
    fmt = re.search(r"#qt.packed<([su])i(\d+), group_size = (\d+), scale = (f16|f32)(, zero_point)?"
                    r"(, levels = \[([^\]]*)\])?>", text)
    signed, bits, group = fmt.group(1) == "s", int(fmt.group(2)), int(fmt.group(3))
    data = blobs(text)
    packed = next(v for name, v in data.items() if re.fullmatch(r"matmul_0\.q\d+g\d+", name))
    scales = np.frombuffer(data[next(nm for nm in data if nm.endswith(".scales"))],
                           np.float16 if fmt.group(4) == "f16" else np.float32).astype(np.float64)
    scales = scales.reshape(n, k // group)
    row = np.frombuffer(packed, np.uint8).reshape(n, -1)
    bitstream = np.unpackbits(row, axis=1, bitorder="little")[:, :k * bits].reshape(n, k, bits)
    codes = (bitstream.astype(np.int64) << np.arange(bits)).sum(axis=2)
    if signed:
        codes = np.where(codes >= 2 ** (bits - 1), codes - 2 ** bits, codes)
    if fmt.group(5):
        zp = np.frombuffer(data[next(nm for nm in data if nm.endswith(".zero_points"))], np.uint8)
        zp = zp.reshape(n, k // group).astype(np.int64)
    else:
        zp = np.zeros((n, k // group), np.int64)
    g = np.arange(k) // group
    if fmt.group(6):
        levels = np.array([float(v) for v in fmt.group(7).split(",")])
        assert not signed and len(levels) == 2 ** bits
        return levels[codes] * scales[:, g]
    return (codes - zp[:, g]) * scales[:, g]


passed = failed = 0


def check(label, ok, detail):
    global passed, failed
    print(f"{'OK' if ok else 'MISMATCH'} {label}: {detail}")
    passed += ok
    failed += not ok


m, k, n, group = 3, 64, 16, 32
x = rng.standard_normal((m, k)).astype(np.float32)
w = (rng.standard_normal((n, k)) * 0.05).astype(np.float32)
for transposed_b in (False, True):
    for asym in (False, True):
        errors = []
        for bits in (2, 3, 4, 8):
            label = f"{'nk' if transposed_b else 'kn'} {'asym' if asym else 'sym'} w{bits}g{group}"
            text = quantize(module(x, w, transposed_b), bits, group, asym)
            check(label + " fused", "linalg.matmul" not in text and "qt.quantized_matmul" in text,
                  "matmul replaced by qt.quantized_matmul")
            deq = decoded_weight(text, n, k)
            got = jit.printed_memrefs(jit.lower_and_run(TOOLS, text, "main"))[0]
            want = x.astype(np.float64) @ deq.T
            diff = float(np.abs(got - want).max())
            check(label + " runs the stored codes", diff <= 1e-5 * max(1.0, np.abs(want).max()),
                  f"max|diff| = {diff:.3g}")
            rel = float(np.linalg.norm(deq - w) / np.linalg.norm(w))
            errors.append(rel)
            check(label + " weight error", rel < BOUNDS[bits], f"relative error {rel:.4f} < {BOUNDS[bits]}")
        check(f"{'nk' if transposed_b else 'kn'} {'asym' if asym else 'sym'} error falls with bits",
              all(a > b for a, b in zip(errors, errors[1:])), " > ".join(f"{e:.4f}" for e in errors))

# Weights on a 4-bit grid with both extremes in every group: lossless.
grid = rng.integers(-8, 8, size=(n, k)).astype(np.float32)
grid[:, ::16] = -8
grid[:, 1::16] = 7
grid *= 0.125
for asym in (False, True):
    text = quantize(module(x, grid, True), 4, 16, asym)
    got = jit.printed_memrefs(jit.lower_and_run(TOOLS, text, "main"))[0]
    want = x.astype(np.float64) @ grid.T.astype(np.float64)
    diff = float(np.abs(got - want).max())
    check(f"grid weights {'asym' if asym else 'sym'} w4g16 exact",
          diff <= 1e-5 * max(1.0, np.abs(want).max()), f"max|diff| = {diff:.3g}")

# Non-uniform 4-bit grids. Their levels, independently of qtc: NF4 as
# bitsandbytes stores it, IQ4_NL's table from llama.cpp divided by 127.
LEVELS = {"nf4": [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
                  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
                  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
                  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0],
          "iq4nl": [v / 127 for v in (-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113)]}
uniform = float(np.linalg.norm(decoded_weight(quantize(module(x, w, True), 4, group, False), n, k) - w)
                / np.linalg.norm(w))
for name, levels in LEVELS.items():
    levels = np.array(levels, np.float32)
    for transposed_b in (False, True):
        label = f"{'nk' if transposed_b else 'kn'} {name} w4g{group}"
        text = quantize(module(x, w, transposed_b), 4, group, False, name)
        check(label + " fused", "linalg.matmul" not in text and "qt.quantized_matmul" in text,
              "matmul replaced by qt.quantized_matmul")
        printed = re.search(r"levels = \[([^\]]*)\]", text)
        check(label + " levels", printed is not None and
              np.array_equal(np.array([float(v) for v in printed.group(1).split(",")], np.float32), levels),
              "the format carries the grid")
        deq = decoded_weight(text, n, k)
        got = jit.printed_memrefs(jit.lower_and_run(TOOLS, text, "main"))[0]
        want = x.astype(np.float64) @ deq.T
        diff = float(np.abs(got - want).max())
        check(label + " runs the stored codes", diff <= 1e-5 * max(1.0, np.abs(want).max()),
              f"max|diff| = {diff:.3g}")
        rel = float(np.linalg.norm(deq - w) / np.linalg.norm(w))
        check(label + " weight error", rel < uniform, f"relative error {rel:.4f} < {uniform:.4f} (evenly spaced)")
    # On the grid, with level -1 (the largest magnitude) in every group.
    codes = rng.integers(0, 16, size=(n, k))
    codes[:, ::16] = 0
    on_grid = levels[codes] * np.float32(0.125)
    text = quantize(module(x, on_grid, True), 4, 16, False, name)
    got = jit.printed_memrefs(jit.lower_and_run(TOOLS, text, "main"))[0]
    want = x.astype(np.float64) @ on_grid.T.astype(np.float64)
    diff = float(np.abs(got - want).max())
    check(f"{name} grid weights w4g16 exact", diff <= 1e-5 * max(1.0, np.abs(want).max()), f"max|diff| = {diff:.3g}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
