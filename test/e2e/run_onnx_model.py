#!/usr/bin/env python3
"""Compiles an ONNX model with qtc, runs it, and compares every output with
what onnxruntime computes on the same inputs.

    python3 run_onnx_model.py QTC_TRANSLATE QTC_OPT MLIR_RUNNER RUNNER_UTILS \\
        C_RUNNER_UTILS MODEL.onnx INPUTS.io.npz

The inputs (`in.<name>`) of the npz bind the model's input shapes; the model
is imported (qtc-translate), lowered and run by the JIT (jit.py), and each
output is compared with onnxruntime's on the same inputs. onnxruntime runs the
exact quantized semantics: its int8-activation shortcuts (MatMulNBits
accuracy_level 4, and the same for QDQ weights it fuses into MatMulNBits)
are turned off, so both sides compute the same function. Prints one line per
output and "N passed, M failed".
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

import jit


def reference(model_path, inputs, tmp):
    """onnxruntime's outputs with its int8-activation shortcuts off."""
    import onnx
    import onnxruntime as ort
    model = onnx.load(model_path)
    for node in model.graph.node:
        if node.op_type == "MatMulNBits":
            for a in node.attribute:
                if a.name == "accuracy_level":
                    a.i = 0
    exact = os.path.join(tmp, "exact.onnx")
    onnx.save(model, exact)
    options = ort.SessionOptions()
    options.add_session_config_entry("session.qdq_matmulnbits_accuracy_level", "0")
    session = ort.InferenceSession(exact, options, providers=["CPUExecutionProvider"])
    feeds = {i.name: inputs[i.name] for i in session.get_inputs()}
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))


def main():
    translate, tools, model, npz_path = sys.argv[1], sys.argv[2:6], sys.argv[6], sys.argv[7]
    npz = np.load(npz_path)
    inputs = {k[3:]: npz[k] for k in npz.files if k.startswith("in.")}
    tmp = tempfile.mkdtemp(prefix="qtc-e2e-")
    ref = reference(model, inputs, tmp)
    imported = os.path.join(tmp, "model.mlir")
    cmd = [translate, "--import-onnx", model, "--func-name", "model", "-o", imported]
    cmd += [f"--input-shape={n}=" + ",".join(str(d) for d in a.shape) for n, a in inputs.items()]
    subprocess.run(cmd, check=True)
    text = open(imported).read()
    args, results = jit.signature(text, "onnx.name")
    got = jit.run(tools, text, [t for t, _ in args], [inputs[n] for _, n in args], [t for t, _ in results])
    passed = failed = 0
    for i, (ty, name) in enumerate(results):
        if i not in got:
            continue
        # Half-precision models accumulate differently from onnxruntime's kernels.
        rtol = 1e-2 if ref[name].dtype == np.float16 else 2e-5
        ok = jit.compare(f"{os.path.basename(model)} {name}", got[i], ref[name], rtol)
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
