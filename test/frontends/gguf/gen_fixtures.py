#!/usr/bin/env python3
"""Writes the fixtures of qtc's GGUF importer tests: one tiny random-weight
Llama model in every GGUF block type, and reference logits for each file.

    python3 test/frontends/gguf/gen_fixtures.py [--keep-f32] [--out DIR] [--types T,...]

Needs gguf-py (`pip install gguf`, which writes and reads the files and
dequantizes the blocks) and llama-cpp-python (`pip install llama-cpp-python`,
whose bundled llama.cpp quantizes the files and computes the logits); numpy.
No torch. Everything is seeded (SEED below): re-running reproduces the files
byte for byte, for given gguf-py and llama.cpp versions.

What it writes, into fixtures/ next to this script:

  tiny-llama-<TYPE>.gguf  the model, for TYPE in FILE_TYPES below. The F32
                          file is written by gguf-py's GGUFWriter; the others
                          are made from it by llama.cpp's own quantizer
                          (llama_model_quantize with its default parameters,
                          as `llama-quantize model.gguf out.gguf TYPE` does),
                          so llama.cpp picks the type of each tensor: 1-D
                          norms stay F32, the tied embedding/output matrix
                          becomes Q6_K (Q8_0 in the Q8_0 file), Q2_K puts
                          attn_v/attn_output/ffn_down in Q3_K, Q4_K_S puts
                          attn_v in Q5_K... manifest.json lists what each
                          file really holds. The F32 source is kept only with
                          --keep-f32 (it is the largest file; F16 holds the
                          same model to 11 bits).
  reference.npz           `tokens` (int32 [T]) and, per file TYPE, float32
                          [T, vocab] logits at every position:
                          `llamacpp_<TYPE>`: llama.cpp's (llama-cpp-python,
                            one eval of `tokens` from an empty cache, F32 KV
                            cache, no flash attention, one CPU thread);
                          `exact_<TYPE>`: a float64 numpy forward pass on the
                            weights as gguf-py dequantizes them (which is bit
                            for bit ggml's own dequantization). This is the
                            "exact dequantized-weight" reference: what a
                            compiler that dequantizes the weights and computes
                            in float32 or better should match (to ~1e-5
                            relative);
                          `actq_<TYPE>`: the same pass with llama.cpp's CPU
                            activation quantization emulated (see
                            actq_matmul): before each weight matmul, llama.cpp
                            converts the activations to the weight type's
                            vec_dot_type -- Q8_0 blocks for Q4_0 Q5_0 Q8_0
                            IQ4_NL, Q8_1 for Q4_1 Q5_1, Q8_K for the K-quants
                            and IQ4_XS, F16 / BF16 for F16 / BF16 weights --
                            which is why `llamacpp_*` is 1-2% (of max|logit|)
                            away from `exact_*` for the quantized files.
                            `actq_*` matches `llamacpp_*` to ~1e-7 relative
                            (F16: ~3e-4, float32-vs-float64 noise flips a few
                            fp16 roundings), so it pins down what llama.cpp
                            computes; a qtc kernel with int8 activations in
                            llama.cpp's block formats can be checked against
                            it.
  manifest.json           hyper-parameters, tokens, and per file its size,
                          sha256, and every tensor's ggml type and shape, plus
                          the agreement numbers printed at the end.

The model (architecture `llama`): hidden 256, N_LAYER = 1 layer, 4 query heads
and 2 KV heads of 64 (GQA), SwiGLU feed-forward 256, vocab 128, context 128,
rope theta 10000, rms eps 1e-5, tied embeddings (no output.weight: llama.cpp
uses token_embd.weight as the output matrix). Every matrix's inner dimension
is 256 so that all the 256-element super-block types (K-quants, IQ4_XS) apply
without llama.cpp falling back to other types. That is also as small as
the model can be: one layer is already ~384K matrix weights, so the 14 kept
files come to ~5.2 MiB (2 layers would double it). --types drops some.

The tokenizer is a minimal GPT-2 style byte-level BPE (`tokenizer.ggml.model`
= "gpt2", pre-tokenizer "default"): the 95 printable ASCII bytes and "\\n" in
GPT-2's byte-to-unicode spelling, 30 merges, `<|bos|>` and `<|eos|>`. It only
has to load; the tests feed token ids directly.

Weight convention. llama.cpp's HF converter (convert_hf_to_gguf.py; in this
llama.cpp, conversion/llama.py: LlamaModel.permute) permutes the rows of Q
and K of LLaMA-family models, per head of d rows: GGUF row 2i+j = HF row
j*d/2 + i (i < d/2, j in {0, 1}), so that llama.cpp can rotate adjacent
pairs. The weights here are written straight into GGUF, so they are already
in llama.cpp's convention: for LLM_ARCH_LLAMA, llama_model_rope_type()
(src/llama-model.cpp) returns LLAMA_ROPE_TYPE_NORM ("normal" rope,
GGML_ROPE_TYPE_NORMAL = 0), which rotates the pairs (x[2i], x[2i+1]) of each
head by pos * theta^(-2i/64) -- not the NeoX / HF halves (x[i], x[i+32]). An
importer must apply normal-mode rope to GGUF llama weights (or undo the row
permutation of Q and K and use NeoX rope).
"""

import argparse
import ctypes
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import zipfile

import numpy as np

import gguf
from gguf import GGMLQuantizationType as QT

HERE = os.path.dirname(os.path.abspath(__file__))

SEED = 20240601

# Hyper-parameters.
N_EMBD = 256
N_LAYER = 1
N_HEAD = 4
N_HEAD_KV = 2
HEAD_DIM = N_EMBD // N_HEAD  # 64
N_FF = 256
N_CTX_TRAIN = 128
ROPE_THETA = 10000.0
RMS_EPS = 1e-5

# The tokens every reference evaluates: <|bos|> then 11 ids from all over the
# vocab (ids, not text: nothing here goes through the tokenizer).
TOKENS = [126, 52, 71, 15, 99, 3, 88, 120, 41, 7, 64, 110]

# File TYPE -> llama_ftype name in llama_cpp (LLAMA_FTYPE_<name>). "F32" is
# the gguf-py-written source.
FILE_TYPES = [
    ("F32", None),
    ("F16", "MOSTLY_F16"),
    ("BF16", "MOSTLY_BF16"),
    ("Q8_0", "MOSTLY_Q8_0"),
    ("Q4_0", "MOSTLY_Q4_0"),
    ("Q4_1", "MOSTLY_Q4_1"),
    ("Q5_0", "MOSTLY_Q5_0"),
    ("Q5_1", "MOSTLY_Q5_1"),
    ("Q2_K", "MOSTLY_Q2_K"),
    ("Q3_K_S", "MOSTLY_Q3_K_S"),
    ("Q4_K_S", "MOSTLY_Q4_K_S"),
    ("Q5_K_S", "MOSTLY_Q5_K_S"),
    ("Q6_K", "MOSTLY_Q6_K"),
    ("IQ4_NL", "MOSTLY_IQ4_NL"),
    ("IQ4_XS", "MOSTLY_IQ4_XS"),
]

# Every quantized block type the fixtures must contain in some matmul weight.
REQUIRED_BLOCK_TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K",
                        "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"]


# --------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------

def gpt2_byte_to_unicode():
    """GPT-2's reversible byte -> printable unicode character map."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


MERGES = [
    "Ġ t", "h e", "i n", "Ġ a", "e r", "o n", "Ġt he", "r e", "a t", "e n",
    "Ġ s", "o r", "Ġ o", "Ġ w", "e s", "Ġ c", "i s", "a n", "i t", "Ġ f",
    "n d", "Ġa nd", "n g", "in g", "Ġ b", "Ġ p", "Ġ m", "o u", "l l", "Ġ i",
]


def build_vocab():
    b2u = gpt2_byte_to_unicode()
    tokens = [b2u[b] for b in range(0x20, 0x7F)] + [b2u[0x0A]]
    for m in MERGES:
        a, b = m.split(" ")
        assert a in tokens and b in tokens, m
        tokens.append(a + b)
    tokens += ["<|bos|>", "<|eos|>"]
    types = [gguf.TokenType.NORMAL] * (len(tokens) - 2) + [gguf.TokenType.CONTROL] * 2
    assert len(set(tokens)) == len(tokens)
    return tokens, types


VOCAB, TOKEN_TYPES = build_vocab()
N_VOCAB = len(VOCAB)  # 128
BOS_ID = VOCAB.index("<|bos|>")  # 126
EOS_ID = VOCAB.index("<|eos|>")  # 127
assert N_VOCAB == 128 and TOKENS[0] == BOS_ID and max(TOKENS) < N_VOCAB


# --------------------------------------------------------------------------
# The F32 model, written by gguf-py
# --------------------------------------------------------------------------

def make_weights():
    """name -> float32 array in numpy order ([out, in] for matrices, which is
    GGUF ne = [in, out]). Standard deviations are chosen so that attention
    is far from uniform and the logits spread over a few units."""
    rng = np.random.default_rng(SEED)

    def normal(std, *shape):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def norm_weight():
        return (1.0 + rng.standard_normal(N_EMBD) * 0.1).astype(np.float32)

    w = {"token_embd.weight": normal(0.1, N_VOCAB, N_EMBD)}
    for i in range(N_LAYER):
        p = f"blk.{i}."
        w[p + "attn_norm.weight"] = norm_weight()
        w[p + "attn_q.weight"] = normal(0.08, N_HEAD * HEAD_DIM, N_EMBD)
        w[p + "attn_k.weight"] = normal(0.08, N_HEAD_KV * HEAD_DIM, N_EMBD)
        w[p + "attn_v.weight"] = normal(0.06, N_HEAD_KV * HEAD_DIM, N_EMBD)
        w[p + "attn_output.weight"] = normal(0.04, N_EMBD, N_HEAD * HEAD_DIM)
        w[p + "ffn_norm.weight"] = norm_weight()
        w[p + "ffn_gate.weight"] = normal(0.06, N_FF, N_EMBD)
        w[p + "ffn_up.weight"] = normal(0.06, N_FF, N_EMBD)
        w[p + "ffn_down.weight"] = normal(0.06, N_EMBD, N_FF)
    w["output_norm.weight"] = norm_weight()
    return w


def write_f32(path):
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("qtc tiny llama")
    writer.add_block_count(N_LAYER)
    writer.add_context_length(N_CTX_TRAIN)
    writer.add_embedding_length(N_EMBD)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_rope_dimension_count(HEAD_DIM)
    writer.add_rope_freq_base(ROPE_THETA)
    writer.add_layer_norm_rms_eps(RMS_EPS)
    writer.add_vocab_size(N_VOCAB)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(VOCAB)
    writer.add_token_types(TOKEN_TYPES)
    writer.add_token_merges(MERGES)
    writer.add_bos_token_id(BOS_ID)
    writer.add_eos_token_id(EOS_ID)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    for name, arr in make_weights().items():
        writer.add_tensor(name, arr)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


# --------------------------------------------------------------------------
# llama.cpp: quantizer and logits
# --------------------------------------------------------------------------

_LOG_CB = None


def quiet_llama_cpp():
    """Drops llama.cpp's log lines (the quantizer prints every tensor)."""
    global _LOG_CB
    import llama_cpp
    if _LOG_CB is None:
        _LOG_CB = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(_LOG_CB, ctypes.c_void_p(0))


def quantize(src, dst, ftype_name):
    import llama_cpp
    quiet_llama_cpp()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, "LLAMA_FTYPE_" + ftype_name)
    params.nthread = 1
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
    if rc != 0:
        raise RuntimeError(f"llama_model_quantize({ftype_name}) failed: {rc}")


def llamacpp_logits(path, tokens):
    import llama_cpp
    quiet_llama_cpp()
    llm = llama_cpp.Llama(model_path=path, logits_all=True, n_ctx=64, n_batch=64,
                          n_threads=1, n_threads_batch=1, seed=SEED, verbose=False,
                          flash_attn=False, type_k=llama_cpp.GGML_TYPE_F32,
                          type_v=llama_cpp.GGML_TYPE_F32, n_gpu_layers=0)
    llm.reset()
    llm.eval(tokens)
    out = np.array(llm.scores[: len(tokens)], dtype=np.float32, copy=True)
    llm.close()
    return out


# --------------------------------------------------------------------------
# numpy reference forward pass on the gguf-py-dequantized weights
# --------------------------------------------------------------------------

def read_types(path):
    """[(name, ggml type name, shape as GGUF ne)] in file order."""
    reader = gguf.GGUFReader(path)
    return [(t.name, t.tensor_type.name, [int(d) for d in t.shape]) for t in reader.tensors]


def load_dequantized(path):
    """name -> float64 array in numpy order, dequantized by gguf-py."""
    reader = gguf.GGUFReader(path)
    out = {}
    for t in reader.tensors:
        data = np.asarray(t.data)
        if t.tensor_type in (QT.F32, QT.F16):
            arr = data.astype(np.float64)
        else:
            arr = gguf.quants.dequantize(data, t.tensor_type).astype(np.float64)
        shape = tuple(int(d) for d in reversed(t.shape))
        out[t.name] = arr.reshape(shape)
    return out


TINY_HPARAMS = {"n_layer": N_LAYER, "n_head": N_HEAD, "n_head_kv": N_HEAD_KV,
                "head_dim": HEAD_DIM, "rope_theta": ROPE_THETA, "rms_eps": RMS_EPS}


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope_normal(x, pos, theta):
    """llama.cpp's LLAMA_ROPE_TYPE_NORM: rotates adjacent pairs
    (x[..., 2i], x[..., 2i+1]) by pos * theta^(-2i/d). x: [T, H, d]."""
    d = x.shape[-1]
    inv = theta ** (-np.arange(0, d, 2, dtype=np.float64) / d)  # [d/2]
    ang = pos[:, None].astype(np.float64) * inv[None, :]  # [T, d/2]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


def forward(w, tokens, hp=None, mm=None):
    """Logits [T, vocab] (float64) of a llama-architecture model with weights
    w (name -> array in numpy order) on `tokens` from position 0: embedding
    lookup, per layer RMSNorm -> Q/K/V -> normal-mode rope -> causal GQA
    softmax(QK^T/sqrt(d))V -> attn_output -> residual, RMSNorm -> SwiGLU
    (down(silu(gate(h)) * up(h))) -> residual; final RMSNorm; output.weight,
    or token_embd.weight when tied. mm(x, name) computes x @ w[name].T
    (replaced to emulate llama.cpp's activation quantization)."""
    hp = hp or TINY_HPARAMS
    n_head, n_kv, hd, eps = hp["n_head"], hp["n_head_kv"], hp["head_dim"], hp["rms_eps"]
    if mm is None:
        def mm(x, name):
            return x @ w[name].T
    tokens = np.asarray(tokens)
    T = len(tokens)
    pos = np.arange(T)
    x = w["token_embd.weight"][tokens]  # [T, E]
    group = n_head // n_kv
    mask = np.triu(np.full((T, T), -np.inf), k=1)
    for i in range(hp["n_layer"]):
        p = f"blk.{i}."
        h = rms_norm(x, w[p + "attn_norm.weight"], eps)
        q = mm(h, p + "attn_q.weight").reshape(T, n_head, hd)
        k = mm(h, p + "attn_k.weight").reshape(T, n_kv, hd)
        v = mm(h, p + "attn_v.weight").reshape(T, n_kv, hd)
        q, k = rope_normal(q, pos, hp["rope_theta"]), rope_normal(k, pos, hp["rope_theta"])
        att = np.empty((T, n_head, hd))
        for j in range(n_head):
            kv = j // group  # query head j reads KV head j // (n_head / n_head_kv)
            sc = q[:, j] @ k[:, kv].T / np.sqrt(hd) + mask
            sc = np.exp(sc - sc.max(axis=-1, keepdims=True))
            sc /= sc.sum(axis=-1, keepdims=True)
            att[:, j] = sc @ v[:, kv]
        x = x + mm(att.reshape(T, n_head * hd), p + "attn_output.weight")
        h = rms_norm(x, w[p + "ffn_norm.weight"], eps)
        g = mm(h, p + "ffn_gate.weight")
        u = mm(h, p + "ffn_up.weight")
        x = x + mm((g / (1.0 + np.exp(-g))) * u, p + "ffn_down.weight")
    x = rms_norm(x, w["output_norm.weight"], eps)
    return mm(x, "output.weight" if "output.weight" in w else "token_embd.weight")


# --------------------------------------------------------------------------
# Emulation of llama.cpp's CPU matmuls (ggml-cpu): the activations are first
# converted to the weight type's vec_dot_type -- F16 / BF16 for F16 / BF16
# weights, Q8_0 blocks of 32 for Q4_0 Q5_0 Q8_0 IQ4_NL, Q8_1 for Q4_1 Q5_1,
# Q8_K blocks of 256 for the K-quants and IQ4_XS -- then multiplied exactly
# (integer dot products, float32 scales). Used to show that the gap between
# `exact_*` and `llamacpp_*` is this and nothing else.
# --------------------------------------------------------------------------

_F32 = np.float32


def _fp16(a):
    return a.astype(np.float16).astype(np.float64)


def _bf16(a):
    u = a.astype(_F32).view(np.uint32).astype(np.uint64)
    u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16  # round to nearest even
    return u.astype(np.uint32).view(_F32).astype(np.float64)


def _q8_0(a):
    """quantize_row_q8_0 then dequantize: d = amax/127 stored as fp16,
    q = round(x * 127/amax). Returns (x_hat, q, d16) per block of 32."""
    T, K = a.shape
    xb = a.astype(_F32).reshape(T, K // 32, 32)
    amax = np.abs(xb).max(-1, keepdims=True)
    d = (amax / _F32(127)).astype(_F32)
    with np.errstate(divide="ignore"):
        inv = np.where(amax != 0, _F32(127) / amax, _F32(0)).astype(_F32)
    q = np.rint((xb * inv).astype(_F32))
    d16 = d.astype(np.float16).astype(np.float64)
    return (q * d16).reshape(T, K), q, d[..., 0]


def _q8_K(a):
    """quantize_row_q8_K then dequantize: per block of 256, iscale =
    -127/max (max: the element of largest magnitude), q = rint(iscale*x),
    d = 1/iscale, all float32."""
    T, K = a.shape
    xb = a.astype(_F32).reshape(T, K // 256, 256)
    mx = np.take_along_axis(xb, np.abs(xb).argmax(-1)[..., None], -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        iscale = np.where(mx != 0, _F32(-127) / mx, _F32(0)).astype(_F32)
        d = np.where(mx != 0, _F32(1) / iscale, _F32(0)).astype(_F32)
    q = np.minimum(127, np.rint((iscale * xb).astype(_F32)))
    return (q * d).reshape(T, K).astype(np.float64)


_ACT_Q8_0 = {"Q4_0", "Q5_0", "Q8_0", "IQ4_NL"}
_ACT_Q8_1 = {"Q4_1": 20, "Q5_1": 24}  # block bytes; d (fp16), m (fp16) first
_ACT_Q8_K = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"}


def actq_matmul(path, w):
    """An mm(x, name) for forward() that reproduces llama.cpp's CPU matmul
    of the weights in `path` (w: their dequantized values)."""
    reader = gguf.GGUFReader(path)
    raw = {t.name: (t.tensor_type.name, np.asarray(t.data)) for t in reader.tensors}

    def mm(x, name):
        tname, data = raw[name]
        wt = w[name]
        if tname == "F32":
            return x @ wt.T
        if tname == "F16":
            return _fp16(x) @ wt.T
        if tname == "BF16":
            return _bf16(x) @ wt.T
        if tname in _ACT_Q8_0:
            return _q8_0(x)[0] @ wt.T
        if tname in _ACT_Q8_K:
            return _q8_K(x) @ wt.T
        if tname in _ACT_Q8_1:
            # Q8_1 also stores s = fp16(d * sum(q)), and the dot product
            # uses m_w * s for the weight block's min instead of
            # m_w * d16 * sum(q): add the difference.
            xh, q, d = _q8_0(x)
            d16 = d.astype(np.float16).astype(np.float64)
            s16 = (d * q.sum(-1)).astype(_F32).astype(np.float16).astype(np.float64)
            blk = data.reshape(wt.shape[0], -1, _ACT_Q8_1[tname])
            m = blk[..., 2:4].copy().view(np.float16)[..., 0].astype(np.float64)
            return xh @ wt.T + (s16 - d16 * q.sum(-1)) @ m.T
        raise NotImplementedError(tname)

    return mm


# --------------------------------------------------------------------------

def write_npz(path, arrays):
    """np.savez, but with fixed zip timestamps so reruns give the same bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0)),
                        buf.getvalue())


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "fixtures"))
    ap.add_argument("--keep-f32", action="store_true",
                    help="also keep tiny-llama-F32.gguf in the output folder")
    ap.add_argument("--types", default=None,
                    help="comma-separated subset of the file types to write (F32 is always made)")
    args = ap.parse_args()
    file_types = FILE_TYPES
    if args.types:
        wanted = set(args.types.split(",")) | {"F32"}
        unknown = wanted - {f for f, _ in FILE_TYPES}
        if unknown:
            sys.exit(f"unknown types: {sorted(unknown)}")
        file_types = [(f, n) for f, n in FILE_TYPES if f in wanted]

    os.makedirs(args.out, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="qtc-gguf-fixtures-")
    try:
        paths = {}
        for ftype, ftype_name in file_types:
            kept = ftype != "F32" or args.keep_f32
            path = os.path.join(args.out if kept else scratch, f"tiny-llama-{ftype}.gguf")
            if ftype == "F32":
                write_f32(path)
            else:
                quantize(paths["F32"], path, ftype_name)
            paths[ftype] = path
        if not args.keep_f32:
            stale = os.path.join(args.out, "tiny-llama-F32.gguf")
            if os.path.exists(stale):
                os.remove(stale)

        tokens = np.array(TOKENS, dtype=np.int32)
        npz = {"tokens": tokens}
        manifest = {
            "seed": SEED,
            "gguf_py_version": _dist_version("gguf"),
            "llama_cpp_python_version": _dist_version("llama_cpp_python"),
            "hparams": {
                "arch": "llama", "n_embd": N_EMBD, "n_layer": N_LAYER, "n_head": N_HEAD,
                "n_head_kv": N_HEAD_KV, "head_dim": HEAD_DIM, "n_ff": N_FF,
                "n_vocab": N_VOCAB, "n_ctx_train": N_CTX_TRAIN, "rope_theta": ROPE_THETA,
                "rms_eps": RMS_EPS, "rope": "llama.cpp normal (adjacent pairs)",
                "tied_embeddings": True, "bos_id": BOS_ID, "eos_id": EOS_ID,
            },
            "tokens": TOKENS,
            "files": {},
        }
        block_types_seen = {}
        print(f"{'file':7} {'bytes':>8}  {'max|exact-llama.cpp|':>20} {'/max|logit|':>11}"
              f"  {'argmax':>6}  {'max|actq-llama.cpp|':>19} {'/max|logit|':>11}")
        rows = []
        for ftype, _ in file_types:
            path = paths[ftype]
            types = read_types(path)
            w = load_dequantized(path)
            exact = forward(w, TOKENS)
            actq = forward(w, TOKENS, mm=actq_matmul(path, w))
            lc = llamacpp_logits(path, TOKENS)
            npz[f"exact_{ftype}"] = exact.astype(np.float32)
            npz[f"llamacpp_{ftype}"] = lc
            npz[f"actq_{ftype}"] = actq.astype(np.float32)
            mx = float(np.max(np.abs(exact)))
            diff = float(np.max(np.abs(exact - lc)))
            diff_actq = float(np.max(np.abs(actq - lc)))
            agree = int(np.sum(exact.argmax(-1) == lc.argmax(-1)))
            size = os.path.getsize(path)
            rows.append((ftype, size, diff / mx, diff_actq / mx))
            manifest["files"][ftype] = {
                "file": os.path.basename(path) if os.path.dirname(path) == args.out else None,
                "size": size,
                "sha256": sha256(path),
                "tensors": {n: {"type": t, "ne": ne} for n, t, ne in types},
                "max_abs_logit": round(mx, 6),
                "max_abs_diff_exact_vs_llamacpp": float(f"{diff:.3e}"),
                "max_abs_diff_actq_vs_llamacpp": float(f"{diff_actq:.3e}"),
                "argmax_agree_exact_vs_llamacpp": agree,
            }
            for n, t, ne in types:
                if len(ne) == 2:
                    block_types_seen.setdefault(t, []).append(f"{ftype}:{n}")
            print(f"{ftype:7} {size:8d}  {diff:20.3e} {diff / mx:11.2e}  {agree:3d}/{len(TOKENS):<2d}"
                  f"  {diff_actq:19.3e} {diff_actq / mx:11.2e}")

        # Per-file tensor type table.
        names = [n for n, _, _ in read_types(paths["F32"])]
        print("\ntensor types per file:")
        print(f"{'tensor':26}" + "".join(f"{f:>7}" for f, _ in file_types))
        for n in names:
            print(f"{n:26}" + "".join(
                f"{manifest['files'][f]['tensors'][n]['type']:>7}" for f, _ in file_types))
        missing = [t for t in REQUIRED_BLOCK_TYPES if t not in block_types_seen]
        print("\nblock types never used by a matmul weight:", missing or "none")
        manifest["missing_block_types"] = missing

        write_npz(os.path.join(args.out, "reference.npz"), npz)
        with open(os.path.join(args.out, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
            f.write("\n")

        kept = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
        print(f"\n{args.out}: {kept} bytes")

        # llama.cpp on the F32 file must match the float64 pass closely, and
        # the activation-quantization emulation must explain the others (F16
        # is looser: float32-vs-float64 noise flips a few fp16 roundings).
        for ftype, _, rel_exact, rel_actq in rows:
            limit = 1e-3 if ftype == "F16" else 1e-5
            if (ftype == "F32" and rel_exact > 1e-5) or rel_actq > limit:
                sys.exit(f"{ftype}: llama.cpp disagrees with the numpy reference")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name.replace("_", "-"))
    except Exception:
        return None


if __name__ == "__main__":
    main()
