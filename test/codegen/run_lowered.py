#!/usr/bin/env python3
"""Numeric end-to-end test of convert-qt-to-linalg (and of the tiling of
quantized GEMMs before it) against numpy.

    python3 run_lowered.py QTC_OPT MLIR_RUNNER RUNNER_UTILS C_RUNNER_UTILS

For seeded random cases of qt.quantized_matmul (2-8 bits, signed and
unsigned codes, with and without zero points, f16 and f32 scales, bias),
qt.dequantize (every code width), qt.gelu (erf and tanh), qt.silu, qt.rms_norm,
qt.layer_norm, qt.attention (grouped heads, float / boolean / causal masks,
KV cache), qt.rotary_embedding (half and interleaved pairs, partial, with
and without position ids) qt.embedding (real and packed tables), qt.dynamic_quantize (per tensor and
per group, symmetric and asymmetric, all zeros) and real-valued
linalg.matmul (both weight layouts) and MatMulInteger's i32 matmul of
widened 8-bit codes (the vpdpbusd kernel where the host has it), writes a module that computes the op on constants and prints
the result, lowers it with qtc-opt's qt-cpu-pipeline (normalize,
convert-qt-to-linalg, bufferization, LLVM; jit.py), runs it with mlir-runner, and compares
with numpy computing the same definition independently. Prints one line per
case and "N passed, M failed".
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import jit  # noqa: E402

rng = np.random.default_rng(11)
QTC_OPT, RUNNER, UTILS, C_UTILS = sys.argv[1:5]

TOOLS = (QTC_OPT, RUNNER, UTILS, C_UTILS)


def dense(a, elem):
    if elem in ("f32", "f16"):
        body = np.array2string(np.asarray(a, dtype=np.float64), separator=", ", threshold=10**9,
                               floatmode="unique", max_line_width=10**9)
    else:
        body = np.array2string(np.asarray(a, dtype=np.int64), separator=", ", threshold=10**9,
                               max_line_width=10**9)
    shape = "x".join(str(d) for d in a.shape)
    return f"dense<{body}> : tensor<{shape}x{elem}>"


def pack(codes, bits):
    """Rows of codes (values in [0, 2^bits)) packed lsb first along K."""
    n, k = codes.shape
    stream = ((codes[:, :, None] >> np.arange(bits)) & 1).reshape(n, k * bits)
    pad = (-stream.shape[1]) % 8
    stream = np.concatenate([stream, np.zeros((n, pad), np.int64)], axis=1)
    return (stream.reshape(n, -1, 8) << np.arange(8)).sum(axis=2).astype(np.uint8).view(np.int8)


def run(body, result_shape, passes=()):
    module = f"""
func.func private @printMemrefF32(memref<*xf32>)
func.func @main() {{
{body}
  %buf = bufferization.to_buffer %r : tensor<{result_shape}xf32> to memref<{result_shape}xf32>
  %u = memref.cast %buf : memref<{result_shape}xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}}
"""
    printed = jit.printed_memrefs(jit.lower_and_run(TOOLS, module, "main", passes))
    return printed[0].reshape([int(d) for d in result_shape.split("x")])


# Tile pass options that tile the few-row grid cases whatever the host.
PIN = "l1-bytes=32768 vector-bits=512"


def random_levels(bits):
    """2^bits strictly increasing f32 levels, unevenly spaced."""
    while True:
        lv = np.sort(rng.standard_normal(2 ** bits)).astype(np.float32)
        if np.all(np.diff(lv) > 0):
            return lv


def levels_text(levels):
    return ", levels = [" + ", ".join(repr(float(v)) for v in levels) + "]"


def decode(codes, scales, zp, signed, bits, group, levels=None):
    if levels is not None:
        g = np.arange(codes.shape[1]) // group
        return levels.astype(np.float64)[codes] * scales.astype(np.float64)[:, g]
    vals = codes.astype(np.float64)
    if signed:
        vals = np.where(vals >= 2 ** (bits - 1), vals - 2 ** bits, vals)
    zero = zp.astype(np.float64) if zp is not None else np.full(scales.shape, 0 if signed else 2 ** (bits - 1))
    g = np.arange(codes.shape[1]) // group
    return (vals - zero[:, g]) * scales.astype(np.float64)[:, g]


def quantized_matmul_case(bits, signed, with_zp, scale_type, with_bias, shape=None, levels=False,
                          passes=(), with_min=False):
    m, k, n, group = shape or (3, 48 if bits in (3, 6) else 64, 5, 16)
    codes = rng.integers(0, 2 ** bits, size=(n, k))
    sdt = np.float16 if scale_type == "f16" else np.float32
    scales = (rng.random((n, k // group)) * 0.1 + 0.01).astype(sdt)
    zp = rng.integers(0, 2 ** bits, size=(n, k // group)) if with_zp else None
    # `min` (llama.cpp's Q4_1, Q4_K...): w = code * scale + min.
    mins = (-(rng.random((n, k // group)) * 0.8)).astype(sdt) if with_min else None
    x = rng.standard_normal((m, k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32) if with_bias else None
    code_type = ("si" if signed else "ui") + str(bits)
    lv = random_levels(bits) if levels else None
    fmt = (f"#qt.packed<{code_type}, group_size = {group}, scale = {scale_type}{', zero_point' if with_zp else ''}"
           f"{levels_text(lv) if levels else ''}{', min' if with_min else ''}>")
    packed = pack(codes, bits)
    zp_store = None if zp is None else (np.where(zp >= 128, zp - 256, zp) if not signed else
                                        np.where(zp >= 2 ** (bits - 1), zp - 2 ** bits, zp))
    body = [f"  %x = arith.constant {dense(x, 'f32')}",
            f"  %w = arith.constant {dense(packed, 'i8')}",
            f"  %s = arith.constant {dense(scales, scale_type)}"]
    extra = ""
    if zp is not None:
        body.append(f"  %z = arith.constant {dense(zp_store, 'i8')}")
        extra += f" zero_points(%z : tensor<{n}x{k // group}xi8>)"
    if mins is not None:
        body.append(f"  %z = arith.constant {dense(mins, scale_type)}")
        extra += f" zero_points(%z : tensor<{n}x{k // group}x{scale_type}>)"
    if bias is not None:
        body.append(f"  %b = arith.constant {dense(bias, 'f32')}")
        extra += f" bias(%b : tensor<{n}xf32>)"
    body.append(f"  %r = qt.quantized_matmul %x, %w, %s{extra} {{format = {fmt}}} : "
                f"tensor<{m}x{k}xf32>, tensor<{n}x{packed.shape[1]}xi8>, tensor<{n}x{k // group}x{scale_type}> "
                f"-> tensor<{m}x{n}xf32>")
    # Signed zero points are stored as two's complement codes; decode them.
    zp_ref = None
    if zp is not None:
        zp_ref = np.where(zp >= 2 ** (bits - 1), zp - 2 ** bits, zp) if signed else zp
    w = decode(codes, scales, zp_ref, signed, bits, group, lv)
    if mins is not None:
        g = np.arange(k) // group
        w = codes * scales.astype(np.float64)[:, g] + mins.astype(np.float64)[:, g]
    ref = x.astype(np.float64) @ w.T + (bias if bias is not None else 0)
    got = run("\n".join(body), f"{m}x{n}", passes)
    label = f" {m}x{k}x{n} g{group} (tiled)" if shape else ""
    if passes:
        label += " " + " ".join(passes)
    grid = " levels" if levels else " min" if with_min else ""
    return f"quantized_matmul {code_type}{grid} zp={with_zp} scale={scale_type} bias={with_bias}{label}", got, ref


def real_matmul_case(m, k, n, transposed=False):
    """A real-valued linalg.matmul reading B as (k, n) (ONNX MatMul): the
    tiling pass turns it into the f32 vector kernel (row blocks of 4, 2 or
    1; column chunks of 4-16), or, narrower than 4 columns, a (m, k, n)
    generic; from 4M multiply-accumulates its column tiles run on the pool.
    With `transposed`, B is read as (n, k) (a Hugging Face Linear): the
    register-blocked dot products (4/2/1 x 4/2/1 blocks), or the plain
    matmul when K is not a whole number of vectors."""
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if transposed else (k, n)).astype(np.float32)
    maps = ("indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, "
            "affine_map<(m, n, k) -> (m, n)>] " if transposed else "")
    body = "\n".join([f"  %a = arith.constant {dense(a, 'f32')}",
                      f"  %b = arith.constant {dense(b, 'f32')}",
                      "  %z = arith.constant 0.0 : f32",
                      f"  %e = tensor.empty() : tensor<{m}x{n}xf32>",
                      f"  %f = linalg.fill ins(%z : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>",
                      f"  %r = linalg.matmul {maps}ins(%a, %b : tensor<{m}x{k}xf32>, "
                      f"tensor<{b.shape[0]}x{b.shape[1]}xf32>) "
                      f"outs(%f : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>"])
    ref = a.astype(np.float64) @ (b.T if transposed else b)
    return f"matmul f32 {m}x{k}x{n}{' B(n,k)' if transposed else ''}", run(body, f"{m}x{n}"), ref


def int8_matmul_case(m, k, n, a_signed, b_signed, zb, rows3d=False, shared=False):
    """An i32 linalg.matmul of two widened 8-bit operands minus rank-0 zero
    points, as the ONNX importer lowers MatMulInteger (A's rows collapsed
    from 3-D with `rows3d`). With constant B on a host with AVX-512 VNNI
    or AVX-VNNI, the tiling pass packs B and runs vpdpbusd, correcting for
    the zero points with row and column sums (none when B is signed with
    zero point 0); otherwise the (m, k, n) i32 vector kernel. Exact. With
    `shared`, a second matmul (other weights) reads the same A and the
    same zero-filled init, as an attention block's K and V projections
    do after CSE; the result is both, stacked."""
    lo_a, hi_a = (-128, 128) if a_signed else (0, 256)
    lo_b, hi_b = (-128, 128) if b_signed else (0, 256)
    a = rng.integers(lo_a, hi_a, (m, k))
    b = rng.integers(lo_b, hi_b, (k, n))
    za = int(rng.integers(lo_a, hi_a))
    ext_a = "arith.extsi" if a_signed else "arith.extui"
    ext_b = "arith.extsi" if b_signed else "arith.extui"
    as_i8 = lambda v: np.asarray(v).astype(np.int64).astype(np.uint8).view(np.int8) if np.ndim(v) else \
        int(np.array(v).astype(np.uint8).view(np.int8))

    def widen(name, src, zp, shape, ext):
        rank = len(shape)
        dims = ", ".join(f"d{i}" for i in range(rank))
        t = "x".join(map(str, shape))
        par = ", ".join(['"parallel"'] * rank)
        return "\n".join([
            f"  %{name}e = tensor.empty() : tensor<{t}xi32>",
            f"  %{name} = linalg.generic {{indexing_maps = [affine_map<({dims}) -> ({dims})>, "
            f"affine_map<({dims}) -> ()>, affine_map<({dims}) -> ({dims})>], iterator_types = [{par}]}} "
            f"ins({src}, {zp} : tensor<{t}xi8>, tensor<i8>) outs(%{name}e : tensor<{t}xi32>) {{",
            "  ^bb0(%x: i8, %z: i8, %o: i32):",
            f"    %xw = {ext} %x : i8 to i32",
            f"    %zw = {ext} %z : i8 to i32",
            "    %d = arith.subi %xw, %zw : i32",
            "    linalg.yield %d : i32",
            f"  }} -> tensor<{t}xi32>"])

    a_shape = (2, m // 2, k) if rows3d else (m, k)
    lines = [f"  %a8 = arith.constant {dense(as_i8(a).reshape(a_shape), 'i8')}",
             f"  %b8 = arith.constant {dense(as_i8(b), 'i8')}",
             f"  %za = arith.constant dense<{as_i8(za)}> : tensor<i8>",
             f"  %zb = arith.constant dense<{as_i8(zb)}> : tensor<i8>",
             widen("aw", "%a8", "%za", a_shape, ext_a),
             widen("bw", "%b8", "%zb", (k, n), ext_b)]
    a_val = "%aw"
    if rows3d:
        lines.append(f"  %ac = tensor.collapse_shape %aw [[0, 1], [2]] : tensor<{'x'.join(map(str, a_shape))}xi32> "
                     f"into tensor<{m}x{k}xi32>")
        a_val = "%ac"
    lines += ["  %c0 = arith.constant 0 : i32",
              f"  %e = tensor.empty() : tensor<{m}x{n}xi32>",
              f"  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<{m}x{n}xi32>) -> tensor<{m}x{n}xi32>",
              f"  %y = linalg.matmul ins({a_val}, %bw : tensor<{m}x{k}xi32>, tensor<{k}x{n}xi32>) "
              f"outs(%f : tensor<{m}x{n}xi32>) -> tensor<{m}x{n}xi32>"]
    ref = (a - za) @ (b - zb)
    rows = m
    if shared:
        b2 = rng.integers(lo_b, hi_b, (k, n))
        lines += [f"  %b28 = arith.constant {dense(as_i8(b2), 'i8')}",
                  widen("bw2", "%b28", "%zb", (k, n), ext_b),
                  f"  %y2 = linalg.matmul ins({a_val}, %bw2 : tensor<{m}x{k}xi32>, tensor<{k}x{n}xi32>) "
                  f"outs(%f : tensor<{m}x{n}xi32>) -> tensor<{m}x{n}xi32>",
                  f"  %y12 = tensor.concat dim(0) %y, %y2 : (tensor<{m}x{n}xi32>, tensor<{m}x{n}xi32>) "
                  f"-> tensor<{2 * m}x{n}xi32>"]
        ref = np.concatenate([ref, (a - za) @ (b2 - zb)])
        rows = 2 * m
    y = "%y12" if shared else "%y"
    lines.append(f"  %r = arith.sitofp {y} : tensor<{rows}x{n}xi32> to tensor<{rows}x{n}xf32>")
    name = (f"matmul int8 {m}x{k}x{n} {'s8' if a_signed else 'u8'} x {'s8' if b_signed else 'u8'}"
            f" zb={zb}{' A 3-D' if rows3d else ''}{', 2 sharing A and init' if shared else ''}")
    return name, run("\n".join(lines), f"{rows}x{n}"), ref.astype(np.float64)


def dynamic_quantize_case(shape, group, symmetric, result, zeros=False):
    """qt.dynamic_quantize: the codes (as f32: unsigned when asymmetric) or
    the scales, against numpy's independent rounding (np.round is half to
    even, as the op's definition)."""
    x = np.zeros(shape, np.float32) if zeros else (rng.standard_normal(shape) * 3).astype(np.float32)
    gs = list(shape[:-1]) + [shape[-1] // group] if group else []
    sshape = "x".join(map(str, gs)) if gs else ""
    stype = f"tensor<{sshape}xf32>" if gs else "tensor<f32>"
    ztype = f"tensor<{sshape}xi8>" if gs else "tensor<i8>"
    xs = "x".join(map(str, shape))
    attrs = []
    if group:
        attrs.append(f"group_size = {group}")
    if symmetric:
        attrs.append("symmetric")
    attr = ("{" + ", ".join(attrs) + "} ") if attrs else ""
    outs = f"tensor<{xs}xi8>, {stype}" + ("" if symmetric else f", {ztype}")
    names = "%q, %s" + ("" if symmetric else ", %zp")
    body = [f"  %x = arith.constant {dense(x, 'f32')}",
            f"  {names} = qt.dynamic_quantize %x {attr}: tensor<{xs}xf32> -> {outs}"]
    # numpy reference
    g = x.reshape(-1, group) if group else x.reshape(1, -1)
    if symmetric:
        steps = np.abs(g).max(axis=1) / 127
    else:
        lo, hi = np.minimum(g.min(axis=1), 0), np.maximum(g.max(axis=1), 0)
        steps = (hi - lo) / 255
    scale = np.where(steps == 0, 1, steps).astype(np.float32)
    if symmetric:
        codes = np.clip(np.round(g / scale[:, None]), -127, 127)
    else:
        zp = np.clip(np.round(0 - lo / scale), 0, 255)
        codes = np.clip(np.round(g / scale[:, None]) + zp[:, None], 0, 255)
    if result == "codes":
        conv = "arith.sitofp" if symmetric else "arith.uitofp"
        rank = len(shape)
        idmap = "affine_map<(" + ", ".join(f"d{i}" for i in range(rank)) + ") -> (" + \
            ", ".join(f"d{i}" for i in range(rank)) + ")>"
        body += [f"  %e = tensor.empty() : tensor<{xs}xf32>",
                 f"  %r = linalg.generic {{indexing_maps = [{idmap}, {idmap}], iterator_types = ["
                 + ", ".join(['"parallel"'] * rank) + f"]}} ins(%q : tensor<{xs}xi8>) outs(%e : tensor<{xs}xf32>) {{",
                 "  ^bb0(%c: i8, %o: f32):",
                 f"    %f = {conv} %c : i8 to f32",
                 "    linalg.yield %f : f32",
                 f"  }} -> tensor<{xs}xf32>"]
        got, ref, rshape = None, codes.reshape(shape), xs
    else:
        if not gs:
            body += ["  %r = tensor.from_elements %s1 : tensor<1xf32>"]
            body.insert(2, "  %s1 = tensor.extract %s[] : tensor<f32>")
            rshape = "1"
        else:
            body += ["  %r = arith.addf %s, %s0 : " + stype]
            body.insert(2, f"  %s0 = arith.constant dense<0.0> : {stype}")
            rshape = sshape
        ref = scale.reshape([int(d) for d in rshape.split("x")])
    label = f"dynamic_quantize {xs} {'g' + str(group) if group else 'per tensor'} " \
            f"{'symmetric' if symmetric else 'asymmetric'}{' zeros' if zeros else ''}: {result}"
    return label, run("\n".join(body), rshape), ref


def dequantize_case(bits=3, group=8, k=24, levels=False):
    n = 4
    codes = rng.integers(0, 2 ** bits, size=(n, k))
    scales = (rng.random((n, k // group)) + 0.5).astype(np.float32)
    lv = random_levels(bits) if levels else None
    packed = pack(codes, bits)
    body = "\n".join([f"  %w = arith.constant {dense(packed, 'i8')}",
                      f"  %s = arith.constant {dense(scales, 'f32')}",
                      f"  %r = qt.dequantize %w, %s {{format = #qt.packed<ui{bits}, group_size = {group}, scale = f32"
                      f"{levels_text(lv) if levels else ''}>}} : "
                      f"tensor<{n}x{packed.shape[1]}xi8>, tensor<{n}x{k // group}xf32> -> tensor<{n}x{k}xf32>"])
    grid = " levels" if levels else ""
    return (f"dequantize ui{bits}{grid} g{group} k{k}", run(body, f"{n}x{k}"),
            decode(codes, scales, None, False, bits, group, lv))


def unary_case(op, attr, fn):
    x = rng.standard_normal((2, 8)).astype(np.float32) * 2
    body = f"  %x = arith.constant {dense(x, 'f32')}\n  %r = qt.{op} %x {attr}: tensor<2x8xf32>"
    return f"{op} {attr}".strip(), run(body, "2x8"), fn(x.astype(np.float64))


def norm_case(rms):
    x = rng.standard_normal((3, 16)).astype(np.float32)
    g = (rng.random(16) + 0.5).astype(np.float32)
    bvec = rng.standard_normal(16).astype(np.float32)
    eps = 1e-5
    lines = [f"  %x = arith.constant {dense(x, 'f32')}", f"  %g = arith.constant {dense(g, 'f32')}"]
    xd = x.astype(np.float64)
    if rms:
        lines.append("  %r = qt.rms_norm %x, %g {epsilon = 1.0e-05 : f32} : tensor<3x16xf32>, tensor<16xf32>")
        ref = xd / np.sqrt((xd ** 2).mean(-1, keepdims=True) + eps) * g
    else:
        lines.append(f"  %b = arith.constant {dense(bvec, 'f32')}")
        lines.append("  %r = qt.layer_norm %x, %g, %b {epsilon = 1.0e-05 : f32} : "
                     "tensor<3x16xf32>, tensor<16xf32>, tensor<16xf32>")
        mu = xd.mean(-1, keepdims=True)
        ref = (xd - mu) / np.sqrt(((xd - mu) ** 2).mean(-1, keepdims=True) + eps) * g + bvec
    return ("rms_norm" if rms else "layer_norm"), run("\n".join(lines), "3x16"), ref


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def attention_case(with_cache, mask_kind, causal, window=None, softcap=None):
    b, hq, hk, s, p, d = 1, 4, 2, 3, (2 if with_cache else 0), 8
    q = rng.standard_normal((b, hq, s, d)).astype(np.float32)
    k = rng.standard_normal((b, hk, s, d)).astype(np.float32)
    v = rng.standard_normal((b, hk, s, d)).astype(np.float32)
    lines = [f"  %q = arith.constant {dense(q, 'f32')}", f"  %k = arith.constant {dense(k, 'f32')}",
             f"  %v = arith.constant {dense(v, 'f32')}"]
    kk, vv = k, v
    extra = ""
    t = s + p
    if with_cache:
        pk = rng.standard_normal((b, hk, p, d)).astype(np.float32)
        pv = rng.standard_normal((b, hk, p, d)).astype(np.float32)
        lines += [f"  %pk = arith.constant {dense(pk, 'f32')}", f"  %pv = arith.constant {dense(pv, 'f32')}"]
        kk, vv = np.concatenate([pk, k], 2), np.concatenate([pv, v], 2)
        extra += f" cache(%pk, %pv : tensor<{b}x{hk}x{p}x{d}xf32>, tensor<{b}x{hk}x{p}x{d}xf32>)"
    scores = np.einsum("bhsd,bhtd->bhst", q.astype(np.float64), np.repeat(kk, hq // hk, 1)) / math.sqrt(d)
    if softcap:
        scores = softcap * np.tanh(scores / softcap)
    mask = None
    if mask_kind == "float":
        mask = (rng.standard_normal((1, t)) * 2).astype(np.float32)
        lines.append(f"  %m = arith.constant {dense(mask, 'f32')}")
        extra = f" mask(%m : tensor<1x{t}xf32>)" + extra
        scores = scores + mask
    elif mask_kind == "bool":
        keep = np.array([[True] * (t - 1) + [False]])
        lines.append(f"  %m = arith.constant dense<{str(keep.tolist()).lower()}> : tensor<1x{t}xi1>")
        extra = f" mask(%m : tensor<1x{t}xi1>)" + extra
        scores = np.where(keep, scores, -3.4028234663852886e38)
    if causal:
        future = np.arange(t)[None, :] > (p + np.arange(s))[:, None]
        scores = np.where(future, -3.4028234663852886e38, scores)
        if window:
            old = np.arange(t)[None, :] + window <= (p + np.arange(s))[:, None]
            scores = np.where(old, -3.4028234663852886e38, scores)
    attrs = ", ".join(a for a in ["causal" if causal else "",
                                  f"window = {window}" if window else "",
                                  f"softcap = {softcap!r} : f32" if softcap else ""] if a)
    ref = np.einsum("bhst,bhte->bhse", softmax(scores), np.repeat(vv, hq // hk, 1))
    results = f"tensor<{b}x{hq}x{s}x{d}xf32>"
    if with_cache:
        results += f", tensor<{b}x{hk}x{t}x{d}xf32>, tensor<{b}x{hk}x{t}x{d}xf32>"
        lines.append(f"  %r, %rk, %rv = qt.attention %q, %k, %v{extra} {{{attrs}}} : "
                     f"tensor<{b}x{hq}x{s}x{d}xf32>, tensor<{b}x{hk}x{s}x{d}xf32>, tensor<{b}x{hk}x{s}x{d}xf32> -> {results}")
    else:
        lines.append(f"  %r = qt.attention %q, %k, %v{extra} {{{attrs}}} : "
                     f"tensor<{b}x{hq}x{s}x{d}xf32>, tensor<{b}x{hk}x{s}x{d}xf32>, tensor<{b}x{hk}x{s}x{d}xf32> -> {results}")
    name = f"attention cache={with_cache} mask={mask_kind} causal={causal} window={window} softcap={softcap}"
    return name, run("\n".join(lines), f"{b}x{hq}x{s}x{d}"), ref


def rotary_case(interleaved, rotary_dim, with_positions):
    b, h, s, d, P = 2, 2, 3, 8, 10
    rdim = rotary_dim or d
    x = rng.standard_normal((b, h, s, d)).astype(np.float32)
    cos = rng.standard_normal((P, rdim // 2)).astype(np.float32)
    sin = rng.standard_normal((P, rdim // 2)).astype(np.float32)
    pos = rng.integers(0, P, size=(b, s)) if with_positions else np.tile(np.arange(s), (b, 1))
    lines = [f"  %x = arith.constant {dense(x, 'f32')}", f"  %c = arith.constant {dense(cos, 'f32')}",
             f"  %s = arith.constant {dense(sin, 'f32')}"]
    extra = ""
    if with_positions:
        lines.append(f"  %p = arith.constant {dense(pos, 'i64')}")
        extra = f" positions(%p : tensor<{b}x{s}xi64>)"
    attrs = []
    if interleaved:
        attrs.append("interleaved")
    if rotary_dim:
        attrs.append(f"rotary_dim = {rotary_dim}")
    attr = (" {" + ", ".join(attrs) + "}") if attrs else ""
    lines.append(f"  %r = qt.rotary_embedding %x, %c, %s{extra}{attr} : tensor<{b}x{h}x{s}x{d}xf32>, "
                 f"tensor<{P}x{rdim // 2}xf32>, tensor<{P}x{rdim // 2}xf32>")
    ref = x.astype(np.float64).copy()
    cp, sp = cos[pos][:, None], sin[pos][:, None]  # [b, 1, s, r/2]
    if interleaved:
        x0, x1 = x[..., 0:rdim:2], x[..., 1:rdim:2]
        ref[..., 0:rdim:2] = x0 * cp - x1 * sp
        ref[..., 1:rdim:2] = x1 * cp + x0 * sp
    else:
        x0, x1 = x[..., : rdim // 2], x[..., rdim // 2: rdim]
        ref[..., : rdim // 2] = x0 * cp - x1 * sp
        ref[..., rdim // 2: rdim] = x1 * cp + x0 * sp
    name = f"rotary interleaved={interleaved} rotary_dim={rotary_dim} positions={with_positions}"
    return name, run("\n".join(lines), f"{b}x{h}x{s}x{d}"), ref


def embedding_case(packed):
    v, d, group = 10, 32, 16
    ids = rng.integers(0, v, size=(2, 3))
    lines = [f"  %i = arith.constant {dense(ids, 'i64')}"]
    if packed:
        codes = rng.integers(0, 16, size=(v, d))
        scales = (rng.random((v, d // group)) + 0.1).astype(np.float32)
        zp = rng.integers(0, 16, size=(v, d // group))
        lines += [f"  %t = arith.constant {dense(pack(codes, 4), 'i8')}",
                  f"  %s = arith.constant {dense(scales, 'f32')}", f"  %z = arith.constant {dense(zp, 'i8')}",
                  f"  %r = qt.embedding %t[%i] scales(%s : tensor<{v}x{d // group}xf32>) zero_points(%z : tensor<{v}x{d // group}xi8>) "
                  f"{{format = #qt.packed<ui4, group_size = {group}, scale = f32, zero_point>}} : tensor<{v}x{d // 2}xi8>, tensor<2x3xi64> -> tensor<2x3x{d}xf32>"]
        table = decode(codes, scales, zp, False, 4, group)
    else:
        table = rng.standard_normal((v, d)).astype(np.float32)
        lines += [f"  %t = arith.constant {dense(table, 'f32')}",
                  f"  %r = qt.embedding %t[%i] : tensor<{v}x{d}xf32>, tensor<2x3xi64> -> tensor<2x3x{d}xf32>"]
    return f"embedding packed={packed}", run("\n".join(lines), f"2x3x{d}"), table[ids]


def main():
    erf = np.vectorize(math.erf)
    cases = []
    for bits in (2, 3, 4, 6, 8):
        for signed in (False, True):
            cases.append(lambda b=bits, s=signed: quantized_matmul_case(b, s, with_zp=(b % 2 == 0), scale_type="f32",
                                                                        with_bias=False))
    cases += [lambda: quantized_matmul_case(4, False, True, "f16", True),
              lambda: quantized_matmul_case(3, False, True, "f16", False),
              # Enough rows and a matrix larger than one L1 panel:
              # qt-tile-quantized-matmul splits these into weight tiles.
              lambda: quantized_matmul_case(4, False, True, "f16", True, (6, 512, 40, 32)),
              lambda: quantized_matmul_case(3, True, False, "f32", False, (5, 768, 24, 64)),
              lambda: quantized_matmul_case(8, True, False, "f16", True, (8, 1024, 16, 128)),
              # 4M multiply-accumulates: the tiles run on the thread pool.
              lambda: quantized_matmul_case(4, True, False, "f16", True, (16, 1024, 256, 64)),
              # At most 4 rows (decoding steps), 2/4/8-bit codes are decoded
              # in registers inside the tile's loop: 4, 2 and 1-column
              # blocks, every signedness, zero points, and on the pool.
              lambda: quantized_matmul_case(4, False, True, "f16", True, (1, 512, 40, 32)),
              lambda: quantized_matmul_case(2, True, False, "f32", False, (3, 768, 24, 64)),
              lambda: quantized_matmul_case(2, False, True, "f16", False, (2, 512, 32, 32)),
              lambda: quantized_matmul_case(8, False, True, "f16", False, (2, 1024, 16, 128)),
              lambda: quantized_matmul_case(8, True, False, "f32", True, (1, 256, 15, 16)),
              lambda: quantized_matmul_case(4, True, False, "f16", False, (4, 256, 20, 16)),
              lambda: quantized_matmul_case(4, True, False, "f16", True, (4, 1024, 1024, 64)),
              # Non-uniform grids (levels[code] * scale): untiled, tiled
              # into panels, the few-row shapes and on the pool.
              lambda: quantized_matmul_case(4, False, False, "f32", False, levels=True),
              lambda: quantized_matmul_case(2, False, False, "f16", True, levels=True),
              lambda: quantized_matmul_case(3, False, False, "f32", True, (5, 768, 24, 64), levels=True),
              lambda: quantized_matmul_case(4, False, False, "f16", True, (1, 512, 40, 32), levels=True),
              lambda: quantized_matmul_case(4, False, False, "f16", False, (16, 1024, 256, 128), levels=True),
              # Mins added after scaling (llama.cpp's Q4_1, Q4_K...):
              # untiled, 5 and 6-bit codes tiled into panels, the few-row
              # kernel with f16 and f32 mins.
              lambda: quantized_matmul_case(4, False, False, "f16", False, with_min=True),
              lambda: quantized_matmul_case(5, False, False, "f32", True, (5, 512, 24, 32), with_min=True),
              lambda: quantized_matmul_case(6, False, False, "f32", False, (16, 1024, 256, 16), with_min=True),
              lambda: quantized_matmul_case(4, False, False, "f16", True, (1, 512, 40, 32), with_min=True),
              lambda: quantized_matmul_case(2, False, False, "f32", False, (2, 512, 32, 16), with_min=True),
              # The few-row kernel's portable tree of selects.
              # (L1 and vector width pinned, so the shapes are tiled on
              # every host.)
              lambda: quantized_matmul_case(4, False, False, "f16", True, (2, 512, 40, 32), levels=True,
                                            passes=[f"--qt-tile-quantized-matmul={PIN} grid-lookup=select"]),
              lambda: quantized_matmul_case(2, False, False, "f32", False, (3, 256, 24, 32), levels=True,
                                            passes=[f"--qt-tile-quantized-matmul={PIN} grid-lookup=select"]),
              # Real-valued matmuls: 4, 2 and 1 rows per block, 16/10/5-wide
              # column chunks, too narrow to vectorize, and on the pool.
              lambda: real_matmul_case(8, 40, 48), lambda: real_matmul_case(6, 24, 20),
              lambda: real_matmul_case(5, 16, 5), lambda: real_matmul_case(4, 16, 3),
              lambda: real_matmul_case(16, 512, 512),
              lambda: real_matmul_case(8, 64, 24, True), lambda: real_matmul_case(6, 32, 10, True),
              lambda: real_matmul_case(5, 48, 7, True), lambda: real_matmul_case(4, 20, 8, True),
              lambda: real_matmul_case(16, 512, 512, True),
              # MatMulInteger: vpdpbusd with 4/2/1-row blocks, one or two
              # column vectors, every signedness and zero point case.
              lambda: int8_matmul_case(8, 64, 32, False, True, 0),
              lambda: int8_matmul_case(4, 64, 32, False, True, 0, rows3d=True, shared=True),
              lambda: int8_matmul_case(6, 32, 48, True, True, 3),
              lambda: int8_matmul_case(5, 16, 16, False, False, 131),
              lambda: int8_matmul_case(3, 20, 64, True, False, 0),
              lambda: int8_matmul_case(4, 12, 10, False, True, 0),
              lambda: dynamic_quantize_case((3, 16), 0, False, "codes"),
              lambda: dynamic_quantize_case((3, 16), 0, False, "scale"),
              lambda: dynamic_quantize_case((2, 3, 16), 8, True, "codes"),
              lambda: dynamic_quantize_case((2, 3, 16), 8, True, "scale"),
              lambda: dynamic_quantize_case((4, 8), 0, False, "codes", zeros=True),
              lambda: dynamic_quantize_case((4, 8), 0, False, "scale", zeros=True),
              lambda: dynamic_quantize_case((4, 8), 8, False, "codes"),
              dequantize_case,
              # Words of 5 bytes (8 five-bit codes, read as i64), 3 bytes
              # (4 six-bit codes), 1 byte (4 two-bit codes); and a K that
              # is not a whole number of words (the per-code path).
              lambda: dequantize_case(5, 16, 32), lambda: dequantize_case(6, 8, 32),
              lambda: dequantize_case(2, 8, 32), lambda: dequantize_case(3, 4, 12),
              lambda: dequantize_case(4, 16, 32, levels=True), lambda: dequantize_case(3, 4, 12, levels=True),
              lambda: unary_case("gelu", "", lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2)))),
              lambda: unary_case("gelu", "{approximation = #qt.gelu_approximation<tanh>} ",
                                 lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
              lambda: unary_case("silu", "", lambda x: x / (1 + np.exp(-x))),
              lambda: norm_case(True), lambda: norm_case(False)]
    for cache in (False, True):
        for mask in (None, "float", "bool"):
            for causal in (False, True):
                cases.append(lambda c=cache, m=mask, ca=causal: attention_case(c, m, ca))
    # Sliding windows (the last 2 positions; 1: only itself) with and
    # without a cache, and Gemma 2's soft-capped scores.
    cases += [lambda: attention_case(True, None, True, window=2),
              lambda: attention_case(False, "float", True, window=1),
              lambda: attention_case(True, None, False, softcap=1.5),
              lambda: attention_case(True, "bool", True, window=3, softcap=0.7)]
    for inter in (False, True):
        for rdim in (None, 4):
            for pos in (False, True):
                cases.append(lambda i=inter, r=rdim, p=pos: rotary_case(i, r, p))
    cases += [lambda: embedding_case(False), lambda: embedding_case(True)]
    # vpermps where the host has it (the select tree elsewhere): AVX2's
    # 8-lane pair for 16 levels, and AVX-512's 16 lanes with the 4 levels of
    # a 2-bit grid padded.
    flags = open("/proc/cpuinfo").read().split()
    avx2 = "permute" if "avx2" in flags else "select"
    avx512 = "permute" if "avx512f" in flags else "select"
    cases.append(lambda: quantized_matmul_case(
        4, False, False, "f16", True, (1, 512, 40, 32), levels=True,
        passes=[f"--qt-tile-quantized-matmul=l1-bytes=32768 vector-bits=256 grid-lookup={avx2}"]))
    cases.append(lambda: quantized_matmul_case(
        2, False, False, "f32", True, (2, 512, 24, 32), levels=True,
        passes=[f"--qt-tile-quantized-matmul={PIN} grid-lookup={avx512}"]))
    passed = failed = 0
    for case in cases:
        name, got, ref = case()
        diff = float(np.abs(got - ref).max())
        tol = 2e-5 * max(1.0, float(np.abs(ref).max()))
        ok = diff <= tol
        passed += ok
        failed += not ok
        print(f"{'OK' if ok else 'MISMATCH'} {name}: max|diff| = {diff:.3g} (tolerance {tol:.3g})")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
