"""Runs a function of an imported module through qtc's lowering and the JIT.

Shared by the end-to-end tests: wraps `@model` in an entry function that
passes constant inputs and prints every real-valued result, lowers the
module with qtc-opt's `qt-cpu-pipeline` (what `qtc compile` runs), runs it
with mlir-runner and parses the printed results back into numpy arrays.
"""
import re
import os
import subprocess

import numpy as np



def lower_and_run(tools, program, entry, passes=()):
    """Lowers `program` with qt-cpu-pipeline (after `passes`, qtc-opt flags)
    and runs `entry` (no arguments, no results) with mlir-runner; returns
    what it printed."""
    qtc_opt, runner, utils, c_utils = tools
    lowered = subprocess.run([qtc_opt, *passes, "--qt-cpu-pipeline"], input=program,
                             capture_output=True, text=True)
    if lowered.returncode:
        raise RuntimeError("lowering failed:\n" + lowered.stderr[-3000:])
    # qtc's runtime (the thread pool parallel loops call) sits next to the
    # build's bin/ directory.
    runtime = os.path.join(os.path.dirname(os.path.abspath(qtc_opt)), "..", "lib",
                           "libqtc_runtime.so")
    out = subprocess.run([runner, "-e", entry, "-entry-point-result=void",
                          f"-shared-libs={utils},{c_utils},{runtime}"],
                         input=lowered.stdout, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError("mlir-runner failed:\n" + out.stderr[-3000:])
    return out.stdout


def printed_memrefs(stdout):
    """The arrays printMemrefF32 printed, in order."""
    arrays = []
    for part in stdout.split("Unranked Memref")[1:]:
        sizes_m = re.search(r"sizes = \[([^\]]*)\]", part)
        sizes = [int(v) for v in sizes_m.group(1).split(",")] if sizes_m and sizes_m.group(1) else []
        data = part.split("data =", 1)[1]
        nums = re.findall(r"[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|nan|inf)", data)
        arrays.append(np.array([float(v) for v in nums]).reshape(sizes))
    return arrays


def literal(a):
    """An MLIR dense literal body for `a`."""
    if a.dtype == np.bool_:
        return np.array2string(a, separator=", ", threshold=10**9,
                               max_line_width=10**9).replace("True", "true").replace("False", "false")
    if a.dtype.kind == "f":
        return np.array2string(a.astype(np.float64), separator=", ", threshold=10**9,
                               max_line_width=10**9, floatmode="unique")
    return np.array2string(a, separator=", ", threshold=10**9, max_line_width=10**9)


def signature(text, attr):
    """[(type, name)] of @model's arguments and results (names from `attr`)."""
    sig = re.search(r"func.func @model\((.*?)\) -> \((.*)\) \{\n", text)
    pat = r"(tensor<[^>]*>) \{" + attr + r" = \"([^\"]+)\"\}"
    return re.findall(pat, sig.group(1)), re.findall(pat, sig.group(2))


def run(tools, text, arg_types, values, result_types):
    """Runs @model in `text` on `values` (numpy arrays, in argument order);
    returns {result index: array} for the real-valued results."""
    body, _, resources = text.partition("{-#")
    body = body.rstrip()
    assert body.endswith("}")
    body = body[:-1]
    lines = ["  func.func private @printMemrefF32(memref<*xf32>)", "  func.func @entry() {"]
    for i, (ty, value) in enumerate(zip(arg_types, values)):
        if value.size == 0:
            lines.append(f"    %in{i} = tensor.empty() : {ty}")
        else:
            lines.append(f"    %in{i} = arith.constant dense<{literal(value)}> : {ty}")
    outs = ", ".join(f"%out{i}" for i in range(len(result_types)))
    lines.append(f"    {outs} = call @model({', '.join(f'%in{i}' for i in range(len(arg_types)))}) : "
                 f"({', '.join(arg_types)}) -> ({', '.join(result_types)})")
    printed = []
    for i, ty in enumerate(result_types):
        if ty.endswith("xf16>"):
            ty32 = ty[:-len("f16>")] + "f32>"
            lines.append(f"    %w{i} = arith.extf %out{i} : {ty} to {ty32}")
            src, ty = f"%w{i}", ty32
        elif ty.endswith("xf32>"):
            src = f"%out{i}"
        else:
            continue
        shape = ty[len("tensor<"):-1]
        lines += [f"    %b{i} = bufferization.to_buffer {src} : {ty} to memref<{shape}>",
                  f"    %u{i} = memref.cast %b{i} : memref<{shape}> to memref<*xf32>",
                  f"    call @printMemrefF32(%u{i}) : (memref<*xf32>) -> ()"]
        printed.append(i)
    lines += ["    return", "  }", "}"]
    program = body + "\n" + "\n".join(lines) + "\n" + ("{-#" + resources if resources else "")
    arrays = printed_memrefs(lower_and_run(tools, program, "entry"))
    return dict(zip(printed, arrays))


def compare(label, got, want, rtol):
    """One "OK"/"MISMATCH" line; returns whether it matched."""
    want = want.astype(np.float64)
    diff = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
    tol = rtol * max(1.0, float(np.abs(want).max()))
    ok = diff <= tol
    print(f"{'OK' if ok else 'MISMATCH'} {label} {list(want.shape)}: max|diff| = {diff:.3g} (tolerance {tol:.3g})")
    return ok
