#!/usr/bin/env python3
"""Builds a Hugging Face checkpoint with qtc, runs it, and compares with the
outputs transformers computed (the checkpoint's reference.npz, written by
test/frontends/hf/models/gen_models.py).

    python3 run_hf_model.py QTC_TRANSLATE QTC_OPT MLIR_RUNNER RUNNER_UTILS \\
        C_RUNNER_UTILS CHECKPOINT_DIR

Decoders: a 5-token prefill from an empty cache is compared on the logits,
then one cached step (the cache being the first 5 positions of the 6-token
reference cache) on the next logits and every present key / value. BERT: the
last hidden state of a padded batch. Prints one line per comparison and
"N passed, M failed".
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import jit


def build(translate, ckpt, tmp, extra):
    out = os.path.join(tmp, "model.mlir")
    subprocess.run([translate, "--import-hf", ckpt, "--func-name", "model", "-o", out] + extra, check=True)
    return open(out).read()


def main():
    translate, tools, ckpt = sys.argv[1], sys.argv[2:6], sys.argv[6]
    ref = np.load(os.path.join(ckpt, "reference.npz"))
    config = json.load(open(os.path.join(ckpt, "config.json")))
    tmp = tempfile.mkdtemp(prefix="qtc-hf-")
    name = os.path.basename(ckpt.rstrip("/"))
    checks = []
    if config["model_type"] == "bert":
        ids = ref["input_ids"]
        text = build(translate, ckpt, tmp, ["--batch", str(ids.shape[0]), "--seq", str(ids.shape[1])])
        args, results = jit.signature(text, "hf.name")
        feeds = {"input_ids": ids, "attention_mask": ref["attention_mask"],
                 "token_type_ids": ref["token_type_ids"] if "token_type_ids" in ref.files else np.zeros_like(ids)}
        got = jit.run(tools, text, [t for t, _ in args], [feeds[n] for _, n in args], [t for t, _ in results])
        # Padded positions' outputs are not defined by the mask; compare the rest.
        keep = ref["attention_mask"].astype(bool)
        checks.append((f"{name} last_hidden_state", got[0][keep], ref["last_hidden_state"][keep]))
    else:
        ids, pos = ref["input_ids"], ref["position_ids"]
        layers = config.get("num_hidden_layers", config.get("n_layer"))
        # Prefill: 5 tokens, empty cache.
        text = build(translate, ckpt, tmp, ["--batch", "1", "--seq", str(ids.shape[1]), "--past", "0"])
        args, results = jit.signature(text, "hf.name")
        values = [ids, pos] + [np.zeros((0,), np.float32)] * (2 * layers)
        got = jit.run(tools, text, [t for t, _ in args], values, [t for t, _ in results])
        checks.append((f"{name} prefill logits", got[0], ref["logits"]))
        # One cached step.
        past = ids.shape[1]
        text = build(translate, ckpt, tmp, ["--batch", "1", "--seq", "1", "--past", str(past)])
        args, results = jit.signature(text, "hf.name")
        values = [ref["next_input_ids"], ref["next_position_ids"]]
        for i in range(layers):
            values += [ref[f"present_key_{i}"][:, :, :past], ref[f"present_value_{i}"][:, :, :past]]
        got = jit.run(tools, text, [t for t, _ in args], values, [t for t, _ in results])
        checks.append((f"{name} step logits", got[0], ref["next_logits"]))
        for i in range(layers):
            checks.append((f"{name} present.{i}.key", got[1 + 2 * i], ref[f"present_key_{i}"]))
            checks.append((f"{name} present.{i}.value", got[2 + 2 * i], ref[f"present_value_{i}"]))
    # fp16 checkpoints compute with fp16 weights (transformers reference in
    # f32 from the same fp16 values): the same products in another order.
    rtol = 1e-4
    passed = sum(jit.compare(label, g, w, rtol) for label, g, w in checks)
    failed = len(checks) - passed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
