#!/usr/bin/env python3
"""Prepares capi_test's inputs from a fixture's .io.npz and checks its
outputs against the fixture's onnxruntime outputs.

    capi_compare.py prepare FIXTURE.io.npz IN_DIR
    capi_compare.py check FIXTURE.io.npz OUT_DIR

Inputs are written as raw C-order IN_DIR/NAME.bin. The check compares
every output in OUT_DIR/NAME.bin with the fixture's: the fixtures' outputs
are onnxruntime's with its exact (fp32-activation) kernels, and qtc
matches them to float rounding, so the tolerance is 1e-5 relative to each
output's largest magnitude (the fixture tests see <= 1.2e-6).
"""
import os
import sys

import numpy as np

mode, npz_path, folder = sys.argv[1:4]
npz = np.load(npz_path)
if mode == "prepare":
    os.makedirs(folder, exist_ok=True)
    for key in npz.files:
        if key.startswith("in."):
            np.ascontiguousarray(npz[key]).tofile(os.path.join(folder, key[3:] + ".bin"))
    sys.exit(0)

failed = 0
for key in npz.files:
    if not key.startswith("out."):
        continue
    want = npz[key]
    got = np.fromfile(os.path.join(folder, key[4:] + ".bin"), dtype=want.dtype)
    if got.size != want.size:
        print(f"MISMATCH {key[4:]}: {got.size} elements, expected {want.size}")
        failed += 1
        continue
    got = got.reshape(want.shape)
    scale = max(1.0, float(np.abs(want).max()))
    err = float(np.abs(got.astype(np.float64) - want).max()) / scale
    ok = err <= 1e-5
    failed += not ok
    print(f"{'OK' if ok else 'MISMATCH'} {key[4:]} {list(want.shape)}: max error relative to output scale {err:.2e}")
print(f"{sum(k.startswith('out.') for k in npz.files) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
