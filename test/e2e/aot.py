"""Builds an ONNX model with `qtc compile --emit shared` and runs it with
`qtc run`: the ahead-of-time path a user takes. Shared by
test/tools/qtc/compile_run.py and examples/run_model.py.
"""
import json
import os
import subprocess

import numpy as np


def compile_and_run(qtc, model, inputs, workdir, bench=0, quiet=True, flags=(), run_flags=()):
    """Compiles `model` with every input's shape bound from `inputs` (name ->
    array) and any extra `flags`, runs it on them (with `run_flags` for qtc
    run) and returns ({output name: array}, what qtc run printed)."""
    os.makedirs(workdir, exist_ok=True)
    lib = os.path.join(workdir, os.path.basename(model).replace(".onnx", "") + ".so")
    cmd = [qtc, "compile", model, "--emit", "shared", "-o", lib]
    cmd += ["--quiet"] if quiet else []
    cmd += list(flags)
    cmd += [f"--input-shape={n}=" + ",".join(str(d) for d in a.shape) for n, a in inputs.items()]
    subprocess.run(cmd, check=True)
    out_dir = os.path.join(workdir, "outputs")
    run = [qtc, "run", lib, "--output-dir", out_dir]
    run += ["--bench", str(bench)] if bench else []
    run += list(run_flags)
    for i, (name, array) in enumerate(inputs.items()):
        path = os.path.join(workdir, f"input{i}.npy")
        np.save(path, array)
        run += ["--input", f"{name}={path}"]
    printed = subprocess.run(run, check=True, capture_output=True, text=True).stdout
    meta = json.load(open(lib[:-len(".so")] + ".json"))
    outputs = {o["name"]: np.load(os.path.join(out_dir, o["name"] + ".npy")) for o in meta["outputs"]}
    return outputs, printed
