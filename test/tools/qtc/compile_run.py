#!/usr/bin/env python3
"""Builds a shared library with `qtc compile --emit shared`, runs it with
`qtc run`, and compares each output with onnxruntime's on the same inputs.

    python3 compile_run.py QTC MODEL.onnx INPUTS.io.npz

This checks the ahead-of-time path a user takes (object emission, the C entry
point, linking, the npy runner), where run_onnx_model.py checks the lowering
through the JIT. Prints one line per output and "N passed, M failed".
"""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e"))
import aot  # noqa: E402
import jit  # noqa: E402
from run_onnx_model import reference  # noqa: E402


def main():
    qtc, model, npz_path = sys.argv[1:4]
    npz = np.load(npz_path)
    inputs = {k[3:]: npz[k] for k in npz.files if k.startswith("in.")}
    tmp = tempfile.mkdtemp(prefix="qtc-aot-")
    ref = reference(model, inputs, tmp)
    outputs, _ = aot.compile_and_run(qtc, model, inputs, tmp)
    passed = failed = 0
    for name, got in outputs.items():
        rtol = 1e-2 if ref[name].dtype == np.float16 else 2e-5
        ok = jit.compare(f"{os.path.basename(model)} {name}", got, ref[name], rtol)
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
