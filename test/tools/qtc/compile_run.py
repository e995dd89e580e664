#!/usr/bin/env python3
"""Builds a shared library with `qtc compile --emit shared`, runs it with
`qtc run`, and compares each output with onnxruntime's on the same inputs.

    python3 compile_run.py QTC MODEL.onnx INPUTS.io.npz

This checks the ahead-of-time path a user takes (object emission, the C entry
point, linking, the npy runner), where run_onnx_model.py checks the lowering
through the JIT. Prints one line per output and "N passed, M failed".
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e"))
import jit  # noqa: E402
from run_onnx_model import reference  # noqa: E402


def main():
    qtc, model, npz_path = sys.argv[1:4]
    npz = np.load(npz_path)
    inputs = {k[3:]: npz[k] for k in npz.files if k.startswith("in.")}
    tmp = tempfile.mkdtemp(prefix="qtc-aot-")
    ref = reference(model, inputs, tmp)
    lib = os.path.join(tmp, "model.so")
    cmd = [qtc, "compile", "--quiet", model, "--emit", "shared", "-o", lib]
    cmd += [f"--input-shape={n}=" + ",".join(str(d) for d in a.shape) for n, a in inputs.items()]
    subprocess.run(cmd, check=True)
    meta = json.load(open(os.path.join(tmp, "model.json")))
    run = [qtc, "run", lib, "--output-dir", os.path.join(tmp, "out")]
    for name, array in inputs.items():
        path = os.path.join(tmp, f"in.{len(run)}.npy")
        np.save(path, array)
        run += ["--input", f"{name}={path}"]
    subprocess.run(run, check=True, stdout=subprocess.DEVNULL)
    passed = failed = 0
    for out in meta["outputs"]:
        name = out["name"]
        got = np.load(os.path.join(tmp, "out", name + ".npy"))
        rtol = 1e-2 if ref[name].dtype == np.float16 else 2e-5
        ok = jit.compare(f"{os.path.basename(model)} {name}", got, ref[name], rtol)
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
