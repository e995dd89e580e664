#!/usr/bin/env python3
"""`qtc generate` and `qtc eval --perplexity` on a checkpoint folder (the
tokenizer from its tokenizer.json) against transformers
(fixtures/checkpoint/reference.json, gen_checkpoint_reference.py).

    run_checkpoint.py QTC REPO_ROOT

The folder is the tiny float32 Llama of test/frontends/hf/models/llama with
fixtures/checkpoint's tokenizer files beside it, put together in a
temporary folder. Greedy generation must give transformers' continuation,
text equal byte for byte and the prompt's token count equal. The perplexity
must be transformers' to a relative 1e-4: both compute in float32 (qtc's
matmuls sum in another order, which moves logits by ~1e-6 relative), and
the count of scored tokens must be equal (the tokenizer gave the same
ids). Prints one line per check and "N passed, M failed".
"""
import json
import os
import re
import subprocess
import sys
import tempfile

qtc, root = sys.argv[1], os.path.abspath(sys.argv[2])
here = os.path.join(root, "test", "generate")
sys.path.insert(0, here)
import gen_checkpoint_reference as g  # noqa: E402

ref = json.load(open(os.path.join(g.OUT, "reference.json"), encoding="utf-8"))
passed = failed = 0


def check(ok, what):
    global passed, failed
    print(("OK   " if ok else "FAIL ") + what)
    passed, failed = passed + ok, failed + (not ok)


with tempfile.TemporaryDirectory() as work:
    folder = os.path.join(work, "llama")
    g.make_folder(folder)
    r = subprocess.run([qtc, "generate", folder, "--prompt", ref["prompt"],
                        "-n", str(ref["n"])], capture_output=True)
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    check(r.returncode == 0, f"qtc generate exits 0 ({r.returncode}: {err.strip()[-300:]})")
    want = ref["text"] + "\n"
    same = 0
    while same < min(len(out), len(want)) and out[same] == want[same]:
        same += 1
    check(out == want, f"greedy text equals transformers' ({len(ref['generated'])} "
                       f"tokens, {same}/{len(want)} characters equal)")
    m = re.search(r"prefill: (\d+) tokens", err)
    check(bool(m) and int(m.group(1)) == len(ref["prompt_ids"]),
          f"prompt tokens {m.group(1) if m else '?'} (transformers "
          f"{len(ref['prompt_ids'])})")

    p = ref["perplexity"]
    r = subprocess.run([qtc, "eval", folder, "--perplexity",
                        os.path.join(here, "fixtures", "prose.txt"),
                        "--context", str(p["context"])], capture_output=True,
                       text=True)
    m = re.search(r"perplexity: ([0-9.]+) over (\d+) tokens", r.stdout)
    if not m:
        check(False, f"qtc eval --perplexity: {r.stderr.strip()[-300:]}")
    else:
        value, tokens = float(m.group(1)), int(m.group(2))
        check(tokens == p["tokens"], f"scored tokens {tokens} (transformers {p['tokens']})")
        rel = abs(value - p["value"]) / p["value"]
        check(rel < 1e-4, f"perplexity {value:.4f}, transformers {p['value']:.4f} "
                          f"(relative {rel:.1e}, at most 1e-4)")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
