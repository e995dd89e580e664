#!/usr/bin/env python3
"""Compile time and peak memory of `qtc compile` on Llama-architecture models.

    python3 bench/compile_time.py                       # 135M: fp32, w4, w4+gptq+rotate
    python3 bench/compile_time.py --models 135m,1b      # also the 1.1B model
    python3 bench/compile_time.py --configs fp32,w4 --keep /tmp/ckpts

Writes synthetic checkpoints (config.json + model.safetensors, random
weights with the real models' shapes: the weights do not change the
compiler's work) into a scratch folder, then runs `qtc compile --emit
shared` on each in a fresh process and reports its wall time and peak
resident memory (getrusage of the child), next to the model's weight bytes:

  135m  SmolLM2-135M's shapes: 30 layers, hidden 576, MLP 1536, 9 heads /
        3 KV heads, vocabulary 49152, tied embeddings (134.5M parameters)
  1b    TinyLlama-1.1B's shapes: 22 layers, hidden 2048, MLP 5632, 32 heads /
        4 KV heads, vocabulary 32000 (1.10B parameters)

Configurations (all at batch 1, 16 new tokens, 0 past):
  fp32       no quantization
  w4         --quantize w4 --group-size 32 (576 = 18 x 32; qtc's default
             group of 128 divides neither 576 nor 1536, and such layers
             would stay fp32)
  w4-gptq    the same with --gptq --rotate --calibration (4 batches of 16
             random token ids)

The targets of issue 17 are printed next to each figure: 135M fp32 and w4
under 10 s, 1B under 60 s, peak RSS under 1.5x the weight bytes, GPTQ
under 3x the w4 time. The table goes to docs/performance.md by hand.
"""

import argparse
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MODELS = {
    "135m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                 num_attention_heads=9, num_key_value_heads=3, vocab_size=49152,
                 tie_word_embeddings=True, max_position_embeddings=2048,
                 rope_theta=100000.0),
    "1b": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
               num_attention_heads=32, num_key_value_heads=4, vocab_size=32000,
               tie_word_embeddings=False, max_position_embeddings=2048,
               rope_theta=10000.0),
}

CONFIGS = {
    "fp32": [],
    "w4": ["--quantize", "w4", "--group-size", "32"],
    "w4-gptq": ["--quantize", "w4", "--group-size", "32", "--gptq", "--rotate"],
}

SEQ = 16
CALIBRATION_BATCHES = 4


def write_safetensors(path, tensors):
    """The safetensors layout: u64 header size, JSON header, raw data."""
    header, offset = {}, 0
    for name, a in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for a in tensors.values():
            f.write(np.ascontiguousarray(a, dtype=np.float32).tobytes())


def write_checkpoint(folder, shape, seed=0):
    os.makedirs(folder, exist_ok=True)
    h, m, v = shape["hidden_size"], shape["intermediate_size"], shape["vocab_size"]
    heads, kv = shape["num_attention_heads"], shape["num_key_value_heads"]
    hd = h // heads
    rng = np.random.default_rng(seed)

    def linear(out, inp):
        return (rng.standard_normal((out, inp), dtype=np.float32)
                * np.float32(1 / np.sqrt(inp)))

    t = {"model.embed_tokens.weight":
         rng.standard_normal((v, h), dtype=np.float32) * np.float32(0.5)}
    for i in range(shape["num_hidden_layers"]):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = np.ones(h, np.float32)
        t[p + "post_attention_layernorm.weight"] = np.ones(h, np.float32)
        t[p + "self_attn.q_proj.weight"] = linear(heads * hd, h)
        t[p + "self_attn.k_proj.weight"] = linear(kv * hd, h)
        t[p + "self_attn.v_proj.weight"] = linear(kv * hd, h)
        t[p + "self_attn.o_proj.weight"] = linear(h, heads * hd)
        t[p + "mlp.gate_proj.weight"] = linear(m, h)
        t[p + "mlp.up_proj.weight"] = linear(m, h)
        t[p + "mlp.down_proj.weight"] = linear(h, m)
    t["model.norm.weight"] = np.ones(h, np.float32)
    if not shape["tie_word_embeddings"]:
        t["lm_head.weight"] = linear(v, h)
    write_safetensors(os.path.join(folder, "model.safetensors"), t)
    config = dict(shape, model_type="llama", architectures=["LlamaForCausalLM"],
                  hidden_act="silu", rms_norm_eps=1e-5, head_dim=hd,
                  torch_dtype="float32")
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    params = sum(a.size for a in t.values())
    calib = os.path.join(folder, "calibration.npz")
    ids = rng.integers(0, v, size=(CALIBRATION_BATCHES, 1, SEQ), dtype=np.int64)
    pos = np.broadcast_to(np.arange(SEQ, dtype=np.int64),
                          (CALIBRATION_BATCHES, 1, SEQ)).copy()
    # Every input: the (empty, past 0) caches too.
    empty = np.zeros((CALIBRATION_BATCHES, 1, kv, 0, hd), np.float32)
    caches = {f"past_key_values.{i}.{kind}": empty
              for i in range(shape["num_hidden_layers"]) for kind in ("key", "value")}
    np.savez(calib, input_ids=ids, position_ids=pos, **caches)
    return params, params * 4, calib


def run(cmd):
    """Wall seconds, peak RSS (bytes) and the exit status of one process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # Read while waiting, so a chatty child cannot block on a full pipe.
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    return wall, usage.ru_maxrss * 1024, code, out.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qtc", default=os.path.join(ROOT, "build", "bin", "qtc"))
    ap.add_argument("--models", default="135m", help="comma list of " + ",".join(MODELS))
    ap.add_argument("--configs", default="fp32,w4,w4-gptq",
                    help="comma list of " + ",".join(CONFIGS))
    ap.add_argument("--keep", help="write the checkpoints here and keep them")
    ap.add_argument("--extra", default="", help="more qtc compile flags")
    ap.add_argument("--verbose", action="store_true", help="print qtc's progress")
    args = ap.parse_args()

    scratch = args.keep or tempfile.mkdtemp(prefix="qtc-compile-bench-")
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} logical CPUs; qtc: {args.qtc}")
    rows = []
    try:
        for name in args.models.split(","):
            shape = MODELS[name]
            folder = os.path.join(scratch, name)
            t0 = time.perf_counter()
            params, weight_bytes, calib = write_checkpoint(folder, shape)
            print(f"{name}: {params / 1e6:.1f}M parameters, {weight_bytes / 2**20:.0f} MiB "
                  f"fp32 (written in {time.perf_counter() - t0:.1f} s)")
            w4_time = None
            for config in args.configs.split(","):
                out = os.path.join(scratch, f"{name}-{config}.so")
                cmd = [args.qtc, "compile", folder, "--batch", "1", "--seq", str(SEQ),
                       "--past", "0", "--emit", "shared", "-o", out] + CONFIGS[config]
                if config == "w4-gptq":
                    cmd += ["--calibration", calib]
                cmd += args.extra.split()
                wall, rss, code, log = run(cmd)
                if args.verbose or code:
                    print(log)
                if code:
                    print(f"{name} {config}: qtc compile failed (exit {code})")
                    rows.append((name, config, None, None, weight_bytes))
                    continue
                if config == "w4":
                    w4_time = wall
                so_bytes = os.path.getsize(out)
                note = ""
                if config == "w4-gptq" and w4_time:
                    note = f", {wall / w4_time:.1f}x the w4 time (target < 3x)"
                limit = 10 if name == "135m" else 60
                print(f"  {config:8s} {wall:7.1f} s (target < {limit} s), peak RSS "
                      f"{rss / 2**20:7.0f} MiB = {rss / weight_bytes:.2f}x the weights "
                      f"(target < 1.5x), library {so_bytes / 2**20:.0f} MiB{note}",
                      flush=True)
                rows.append((name, config, wall, rss, weight_bytes))
                for ext in (".so", ".h", ".json"):
                    p = out[:-3] + ext
                    if os.path.exists(p):
                        os.remove(p)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print("\n| model | configuration | wall time | peak RSS | RSS / weights |")
    print("|---|---|---|---|---|")
    for name, config, wall, rss, wb in rows:
        if wall is None:
            print(f"| {name} | {config} | failed | | |")
        else:
            print(f"| {name} | {config} | {wall:.1f} s | {rss / 2**20:.0f} MiB | "
                  f"{rss / wb:.2f}x |")
    return 1 if any(r[2] is None for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
