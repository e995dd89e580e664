#!/usr/bin/env python3
"""Imports every ONNX backend node test of the installed onnx package and
writes the per-op results to docs/onnx-coverage.md.

    python3 scripts/onnx_coverage.py [--qtc-translate build/bin/qtc-translate]
                                     [--out docs/onnx-coverage.md]

A node test counts as imported when `qtc-translate --import-onnx` exits 0
(the module verified). Tests are grouped by the op type of the tested node
(the single node of the graph; "_expanded" variants by the test's base op).
With --run, every imported test is also compiled (`qtc compile --emit
shared`, the test's input shapes bound), run (`qtc run`) on the test's
inputs, and compared with its reference outputs at the test's own rtol/atol.
"""
import argparse
import collections
import concurrent.futures
import os
import subprocess
import sys
import tempfile
import time
import warnings

import onnx
from onnx.backend.test.loader import load_model_tests

# The ops the ONNX frontend issue lists, by domain-less op type, and IsNaN,
# which PyTorch's attention export needs.
LISTED = """MatMul Gemm Add Sub Mul Div Pow Sqrt Reciprocal Neg Erf Tanh Sigmoid Relu
Gelu Softmax LayerNormalization RMSNormalization Attention RotaryEmbedding
ReduceMean ReduceSum ReduceMax Transpose Reshape Flatten Squeeze Unsqueeze
Concat Split Slice Gather Expand Where Equal Less Greater Not And Cast CastLike
Shape Size Range ConstantOfShape Constant Trilu Identity Max Min ScatterND Einsum
QuantizeLinear DequantizeLinear DynamicQuantizeLinear MatMulInteger
QLinearMatMul IsNaN""".split()


def compile_and_run(qtc, test, case, path, tmp):
    """(matched, reason) for one imported node test."""
    import numpy as np
    work = os.path.join(tmp, test)
    os.makedirs(work, exist_ok=True)
    try:
        if not case.data_sets:
            return False, "no reference data"
        inputs, outputs = case.data_sets[0]
        graph_inputs = [i.name for i in case.model.graph.input]
        if len(inputs) != len(graph_inputs) or any(not isinstance(a, np.ndarray) for a in inputs):
            return False, "inputs are not plain tensors"
        lib = os.path.join(work, "model.so")
        cmd = [qtc, "compile", "--quiet", path, "--emit", "shared", "-o", lib]
        cmd += [f"--input-shape={n}=" + ",".join(str(d) for d in a.shape)
                for n, a in zip(graph_inputs, inputs) if a.ndim]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if p.returncode not in (0, 1):
            return False, f"CRASH: qtc compile exit {p.returncode}"
        if p.returncode:
            err = p.stderr.strip().splitlines()
            return False, "compile: " + (err[-1] if err else f"exit {p.returncode}")
        run = [qtc, "run", lib, "--output-dir", work]
        for i, (n, a) in enumerate(zip(graph_inputs, inputs)):
            f = os.path.join(work, f"in{i}.npy")
            np.save(f, a)
            run += ["--input", f"{n}={f}"]
        p = subprocess.run(run, capture_output=True, text=True, timeout=300)
        if p.returncode not in (0, 1):
            return False, f"CRASH: qtc run exit {p.returncode}"
        if p.returncode:
            err = p.stderr.strip().splitlines()
            return False, "run: " + (err[-1] if err else f"exit {p.returncode}")
        for o, want in zip(case.model.graph.output, outputs):
            if isinstance(want, np.generic):
                want = np.asarray(want)  # a rank-0 output is read back as a scalar
            if not isinstance(want, np.ndarray):
                return False, f"output {o.name} is not a plain tensor"
            got = np.load(os.path.join(work, o.name + ".npy"))
            if got.dtype != want.dtype and got.dtype.kind in "iu" and want.dtype.kind in "iu" \
                    and got.dtype.itemsize == want.dtype.itemsize:
                got = got.view(want.dtype)  # integers are signless in compiled code
            if got.shape != want.shape:
                return False, f"output {o.name}: shape {list(got.shape)}, expected {list(want.shape)}"
            if want.dtype.kind in "fc":
                good = np.allclose(got.astype(np.float64), want.astype(np.float64),
                                   rtol=case.rtol, atol=case.atol, equal_nan=True)
            else:
                good = np.array_equal(got, want)
            if not good:
                return False, f"output {o.name} differs from the reference"
        return True, ""
    except subprocess.TimeoutExpired:
        return False, "timed out"
    finally:
        subprocess.run(["rm", "-rf", work])
        if os.path.exists(path):
            os.remove(path)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--qtc-translate", default=os.path.join(root, "build/bin/qtc-translate"))
    ap.add_argument("--out", default=os.path.join(root, "docs/onnx-coverage.md"))
    ap.add_argument("--all-ops", action="store_true", help="also run tests of ops not listed")
    ap.add_argument("--run", action="store_true",
                    help="also compile, run and compare every imported test (qtc compile/run)")
    ap.add_argument("--qtc", default=os.path.join(root, "build/bin/qtc"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--min-matches", type=int, default=0,
                    help="with --run, fail when fewer tests match (a regression floor)")
    args = ap.parse_args()
    results = collections.defaultdict(list)  # op -> [(test, ok, reason)]
    crashes = []
    start = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tests = load_model_tests(kind="node")
    tmp = tempfile.mkdtemp(prefix="qtc-node-tests-")
    pending = []
    for case in sorted(tests, key=lambda c: c.name):
        test, model = case.name, case.model
        if model is None or "_expanded" in test:
            continue  # function-expanded variants test other ops
        ops = {n.op_type for n in model.graph.node}
        op = next(iter(ops)) if len(ops) == 1 else None
        if op is None or (op not in LISTED and not args.all_ops):
            continue
        path = os.path.join(tmp, test + ".onnx")
        onnx.save(model, path)
        try:
            p = subprocess.run([args.qtc_translate, "--import-onnx", path, "-o", os.devnull],
                               capture_output=True, text=True, timeout=60)
            err = p.stderr.strip().splitlines()
            ok, reason = p.returncode == 0, err[-1] if err else ""
            if p.returncode not in (0, 1):
                reason = f"CRASH (exit {p.returncode})"
                crashes.append(test)
        except subprocess.TimeoutExpired:
            ok, reason = False, "timed out"
        for marker in ("): ", ".onnx: "):
            if marker in reason:
                reason = reason.split(marker, 1)[1]
                break
        results[op].append((test, ok, reason))
        if ok and args.run:
            pending.append((op, test, case, path))
        else:
            os.remove(path)
    ran = {}  # test -> (ok, reason)
    if args.run:
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            for test, (good, why) in pool.map(lambda p: (p[1], compile_and_run(args.qtc, *p[1:], tmp)), pending):
                why = why.replace(os.path.join(tmp, test) + "/", "").replace(tmp + "/", "")
                ran[test] = (good, why.replace("qtc: error: ", ""))
    elapsed = time.time() - start
    total = sum(len(v) for v in results.values())
    passed = sum(ok for v in results.values() for _, ok, _ in v)
    lines = [
        "# ONNX node-test coverage",
        "",
        "Generated by `python3 scripts/onnx_coverage.py` from the backend node tests of",
        f"onnx {onnx.__version__} (`onnx.backend.test.loader.load_model_tests(kind=\"node\")`): every test whose graph",
        "is a single node of an op the ONNX frontend lists is imported with",
        "`qtc-translate --import-onnx` (import + verifier)" + (
            "; every imported one is then compiled with `qtc compile --emit shared`, run with" if args.run else "."),
    ]
    if args.run:
        run_ok = sum(ok for ok, _ in ran.values())
        lines += [
            "`qtc run` on the test's inputs and compared with its reference outputs (the",
            "test's rtol/atol). Generated with `--run`.",
            "",
            f"**{passed} of {total} node tests import; {run_ok} of {len(ran)} imported ones compile, run and",
            f"match** ({elapsed:.0f} s). Failures show their one-line error (none crashes).",
            "",
            "| op | tests | imported | run + match | failures (first reasons) |",
            "|---|---:|---:|---:|---|",
        ]
    else:
        lines += [
            "",
            f"**{passed} of {total} node tests import** ({elapsed:.0f} s); the others fail with",
            "the one-line error shown (none crashes).",
            "",
            "| op | tests | imported | not imported (first reasons) |",
            "|---|---:|---:|---|",
        ]
    for op in sorted(set(LISTED) | set(results)):
        rows = results.get(op, [])
        ok = sum(r[1] for r in rows)
        failures = [f"`{t}`: {r}" for t, good, r in rows if not good]
        if args.run:
            failures += [f"`{t}`: {ran[t][1]}" for t, good, _ in rows if good and not ran[t][0]]
        shown = "; ".join(failures[:3]) + (f"; ... ({len(failures) - 3} more)" if len(failures) > 3 else "")
        shown = shown.replace("|", "\\|")
        if args.run:
            matched = sum(ran[t][0] for t, good, _ in rows if good)
            lines.append(f"| {op} | {len(rows)} | {ok} | {matched} | {shown} |")
        else:
            lines.append(f"| {op} | {len(rows)} | {ok} | {shown} |")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{passed} passed, {total - passed} failed")
    if args.run:
        matched = sum(ok for ok, _ in ran.values())
        print(f"compile + run: {matched} of {len(ran)} match")
        crashes += [t for t, (_, why) in ran.items() if why.startswith("CRASH")]
        if matched < args.min_matches:
            print(f"regression: fewer than {args.min_matches} tests match", file=sys.stderr)
            return 1
    if crashes:
        print("crashed: " + ", ".join(crashes), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
