#!/usr/bin/env python3
"""Compiles an ONNX model with qtc into a shared library, runs it on the
inputs of an .io.npz file with `qtc run --bench 100 --compare-onnxruntime`
(which times qtc and onnxruntime in the same run and compares the outputs),
and checks every output against onnxruntime with its int8-activation
shortcuts off.

    python3 examples/run_model.py QTC MODEL.onnx INPUTS.io.npz [OUT_DIR]

Used by scripts/quickstart.sh on the bundled 4-bit Llama-style model.
"""
import os
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "test", "e2e"))
import aot  # noqa: E402
from run_onnx_model import reference  # noqa: E402


def main():
    qtc, model, npz_path = sys.argv[1:4]
    out_dir = os.path.abspath(sys.argv[4] if len(sys.argv) > 4 else "qtc-example")
    npz = np.load(npz_path)
    inputs = {k[3:]: npz[k] for k in npz.files if k.startswith("in.")}
    print(f"$ qtc compile {model} --emit shared  (input shapes from {os.path.basename(npz_path)})", flush=True)
    print(f"$ qtc run ... --bench 100 --compare-onnxruntime {os.path.basename(model)}", flush=True)
    outputs, printed = aot.compile_and_run(qtc, model, inputs, out_dir, bench=100, quiet=False,
                                           run_flags=["--compare-onnxruntime", model])
    print(printed, end="")

    # The exact check, independent of qtc run's: onnxruntime with its
    # int8-activation shortcuts off.
    ref = reference(model, inputs, out_dir)
    worst = 0.0
    for name, got in outputs.items():
        want = ref[name].astype(np.float64)
        worst = max(worst, float(np.abs(got - want).max()) / max(1.0, float(np.abs(want).max())))
    print(f"outputs vs onnxruntime (accuracy_level 0): max relative difference {worst:.2g} "
          f"over {len(outputs)} outputs")
    return 0 if worst <= 2e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
