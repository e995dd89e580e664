#!/usr/bin/env python3
"""References for `qtc generate` / `qtc eval --perplexity` on a checkpoint
folder (run_checkpoint.py).

    python3 test/generate/gen_checkpoint_reference.py

The folder is test/frontends/hf/models/llama (a tiny float32 Llama, 128
tokens) with a tokenizer: transformers' GGUF converter's tokenizer.json for
the 128-piece SentencePiece vocabulary of
test/frontends/gguf/families/llama.gguf (`AutoTokenizer.from_pretrained(dir,
gguf_file=...)`, `save_pretrained`), written to fixtures/checkpoint/. With
it, transformers (float32, greedy `generate`) gives the continuation of a
prompt, and llama-perplexity's method (windows of N tokens, BOS first, the
second half of each scored) the perplexity of fixtures/prose.txt; both go
to fixtures/checkpoint/reference.json. Two runs write the same bytes.
"""
import json
import math
import os
import shutil
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "fixtures", "checkpoint")
MODEL = os.path.join(REPO, "test", "frontends", "hf", "models", "llama")
PROMPT = "The capital of France is"
CONTEXT = 32


def make_folder(dest):
    """The checkpoint with the tokenizer files beside it."""
    os.makedirs(dest, exist_ok=True)
    for f in ("config.json", "generation_config.json", "model.safetensors"):
        shutil.copyfile(os.path.join(MODEL, f), os.path.join(dest, f))
    for f in os.listdir(OUT):
        if f.startswith("tokenizer"):
            shutil.copyfile(os.path.join(OUT, f), os.path.join(dest, f))


def main():
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        src = os.path.join(work, "gguf")
        os.makedirs(src)
        shutil.copyfile(os.path.join(REPO, "test", "frontends", "gguf",
                                     "families", "llama.gguf"),
                        os.path.join(src, "v.gguf"))
        AutoTokenizer.from_pretrained(src, gguf_file="v.gguf").save_pretrained(
            os.path.join(work, "tok"))
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copyfile(os.path.join(work, "tok", f), os.path.join(OUT, f))
        folder = os.path.join(work, "ckpt")
        make_folder(folder)
        tok = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder,
                                                     dtype=torch.float32)
        model.eval()
        prompt_ids = tok(PROMPT)["input_ids"]
        limit = model.config.max_position_embeddings
        n = limit - len(prompt_ids)
        with torch.no_grad():
            out = model.generate(torch.tensor([prompt_ids]), do_sample=False,
                                 max_new_tokens=n, min_new_tokens=n,
                                 pad_token_id=0)
        gen = out[0, len(prompt_ids):].tolist()
        eos = model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        # qtc stops before an end-of-generation token.
        stop = next((i for i, t in enumerate(gen) if t in eos), len(gen))
        gen = gen[:stop]
        full = tok.decode(prompt_ids + gen, skip_special_tokens=True)
        head = tok.decode(prompt_ids, skip_special_tokens=True)
        assert full.startswith(head)

        with open(os.path.join(HERE, "fixtures", "prose.txt"),
                  encoding="utf-8") as f:
            text = f.read()
        ids = tok(text)["input_ids"]
        windows = len(ids) // CONTEXT
        half = count = 0
        for c in range(windows):
            w = ids[c * CONTEXT:(c + 1) * CONTEXT]
            w[0] = tok.bos_token_id
            with torch.no_grad():
                logits = model(torch.tensor([w])).logits[0].double()
            logp = torch.log_softmax(logits, dim=-1)
            for j in range(CONTEXT // 2, CONTEXT - 1):
                half -= logp[j, w[j + 1]].item()
                count += 1
    ref = {
        "prompt": PROMPT, "prompt_ids": prompt_ids, "generated": gen,
        "n": n, "text": full[len(head):],
        "perplexity": {"context": CONTEXT, "windows": windows,
                       "tokens": count, "value": math.exp(half / count)},
    }
    with open(os.path.join(OUT, "reference.json"), "w", encoding="utf-8",
              newline="\n") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(gen)} tokens generated, perplexity "
          f"{ref['perplexity']['value']:.4f} over {count} tokens")


if __name__ == "__main__":
    main()
