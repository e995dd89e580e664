#!/usr/bin/env python3
"""`qtc compile --strict-fp` keeps floating-point sums in source order and
libm's erf/exp: the fixtures still match onnxruntime with and without it.

    python3 strict_fp.py QTC FIXTURES WORKDIR

bert_tiny (GELU's erf, softmax's exp, fp32 matmuls) and the int4 Llama
(quantized weight tiles, SiLU's exp) are compiled both ways and each output
is compared with onnxruntime's stored outputs (relative to the output's
scale, bound 1e-4). Prints one line per check and "N passed, M failed".
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e"))
from checks import Tally  # noqa: E402
import aot  # noqa: E402

QTC, FIXTURES, WORK = sys.argv[1:4]
tally = Tally()
for name in ("bert_tiny", "llama_tiny_int4_matmulnbits"):
    io = np.load(os.path.join(FIXTURES, name + ".io.npz"))
    inputs = {k[3:]: v for k, v in io.items() if k.startswith("in.")}
    for label, flags in (("default", ()), ("strict-fp", ("--strict-fp",))):
        outputs, _ = aot.compile_and_run(QTC, os.path.join(FIXTURES, name + ".onnx"), inputs,
                                         os.path.join(WORK, f"{name}-{label}"), flags=flags)
        for key, want in io.items():
            if not key.startswith("out."):
                continue
            got = outputs[key[4:]]
            err = float(np.abs(got - want).max() / max(float(np.abs(want).max()), 1e-30))
            tally.check(f"{name} {label} {key[4:]}", err <= 1e-4,
                        f"max error relative to the output scale {err:.1e}")
tally.finish()
