#!/usr/bin/env python3
"""Compiles an ONNX model with qtc into a shared library, runs it on the
inputs of an .io.npz file, checks every output against onnxruntime and times
both.

    python3 examples/run_model.py QTC MODEL.onnx INPUTS.io.npz [OUT_DIR]

Used by scripts/quickstart.sh on the bundled 4-bit Llama-style model.
"""
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "test", "e2e"))
from run_onnx_model import reference  # noqa: E402


def main():
    qtc, model, npz_path = sys.argv[1:4]
    out_dir = os.path.abspath(sys.argv[4] if len(sys.argv) > 4 else "qtc-example")
    os.makedirs(out_dir, exist_ok=True)
    npz = np.load(npz_path)
    inputs = {k[3:]: npz[k] for k in npz.files if k.startswith("in.")}
    lib = os.path.join(out_dir, os.path.basename(model).replace(".onnx", ".so"))
    cmd = [qtc, "compile", model, "--emit", "shared", "-o", lib]
    cmd += [f"--input-shape={n}=" + ",".join(str(d) for d in a.shape) for n, a in inputs.items()]
    print("$ " + " ".join(os.path.relpath(c) if os.path.exists(c) else c for c in cmd), flush=True)
    subprocess.run(cmd, check=True)
    run = [qtc, "run", lib, "--output-dir", os.path.join(out_dir, "outputs"), "--bench", "100"]
    for name, array in inputs.items():
        path = os.path.join(out_dir, name + ".npy")
        np.save(path, array)
        run += ["--input", f"{name}={path}"]
    print(f"$ qtc run {lib} --input ... --bench 100", flush=True)
    printed = subprocess.run(run, check=True, capture_output=True, text=True).stdout
    print(printed, end="")
    qtc_ms = float(re.search(r"median ([0-9.]+) ms", printed).group(1))

    ref = reference(model, inputs, out_dir)
    meta = json.load(open(lib.replace(".so", ".json")))
    worst = 0.0
    for port in meta["outputs"]:
        got = np.load(os.path.join(out_dir, "outputs", port["name"] + ".npy"))
        want = ref[port["name"]].astype(np.float64)
        worst = max(worst, float(np.abs(got - want).max()) / max(1.0, float(np.abs(want).max())))
    print(f"outputs vs onnxruntime: max relative difference {worst:.2g} over {len(meta['outputs'])} outputs")

    import onnxruntime as ort
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    feeds = {i.name: inputs[i.name] for i in session.get_inputs()}
    session.run(None, feeds)
    times = []
    for _ in range(100):
        t = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - t)
    ort_ms = float(np.median(times)) * 1e3
    print(f"median latency: qtc {qtc_ms:.3f} ms, onnxruntime {ort_ms:.3f} ms "
          f"(qtc/onnxruntime {qtc_ms / ort_ms:.2f})")
    return 0 if worst <= 2e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
