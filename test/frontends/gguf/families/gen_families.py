#!/usr/bin/env python3
"""Converts the tiny Hugging Face checkpoints to GGUF with llama.cpp's own
converter, and records what llama.cpp and transformers compute from them.

    python3 test/frontends/gguf/families/gen_families.py \\
        [--llama-cpp DIR] [--out DIR] [--only NAME ...]

DIR for --llama-cpp is a llama.cpp source tree (convert_hf_to_gguf.py and
gguf-py/); the default is $LLAMA_CPP_DIR, else /tmp/lcp/llama.cpp. Its
converter must be the one of the llama.cpp that the installed
llama-cpp-python was built from, or the two may disagree on metadata.

For each family of FAMILIES (folders of ../../hf/models, written by
gen_models.py there):

1. The folder's config.json, generation_config.json and model.safetensors
   are copied to a temporary folder named like it, with a 128-piece
   SentencePiece `tokenizer.model` that this script builds (no training,
   so the bytes are fixed). The converter needs a tokenizer. Every one of
   the decoder families' converters takes `tokenizer.model` first. A
   `tokenizer.json` BPE would go through `_set_vocab_gpt2`, which refuses
   any pre-tokenizer whose hash it does not know. The checkpoints here are
   not touched.
   gpt2 and bert have no SentencePiece path: gpt2 gets a 128-piece
   byte-level BPE tokenizer.json, bert a 128-piece WordPiece vocab.txt,
   and the converter runs with its pre-tokenizer lookup
   (get_vocab_base_pre) replaced by one that returns "gpt-2" / "default"
   (CONVERT_WITH_PRE). gpt2's copied config.json also gets `n_ctx`
   (= n_positions), which the converter reads and transformers 5 no longer
   writes.
2. `convert_hf_to_gguf.py --outtype f32 --model-name NAME` writes NAME.gguf.
3. llama-cpp-python evaluates TOKENS (token ids, no BOS added) with
   n_ctx 64, n_batch 64, one thread, logits for every position, F32 K and
   V caches, flash attention off: `llamacpp_NAME` [20, 128]. bert has no
   logits: llama.cpp runs it in embedding mode with pooling none and
   `llamacpp_bert` [20, 64] is every token's output (the last hidden
   state), `llamacpp_bert_mean` [64] the same run with mean pooling.
4. transformers runs the same ids through the HF folder in float32 with
   eager attention (one forward, no cache): `transformers_NAME` [20, 128]
   (bert: last_hidden_state [20, 64], attention mask all ones and token
   types all 0, as llama.cpp runs it).
5. manifest.json records each GGUF's architecture, metadata, and tensors
   (type, GGUF ne, row-major shape), and for each tensor the HF tensor it
   comes from and the transform, found by comparing the values: identity,
   +1 (Gemma norms), the llama q/k row permutation, or a row range of a
   fused HF tensor. Tensors the converter computes (rope_freqs, rope
   factors) are listed with their values. It also records the agreement
   of the two runtimes, and checks that explain each disagreement (the
   same HF weights run with the config that llama.cpp's code implies).

TOKENS has 20 positions, more than phi3's original_max_position_embeddings
(16). transformers uses longrope's long_factor only for sequences longer
than that, while llama.cpp picks long_factor whenever n_ctx (64) is larger.
With 20 positions both use long_factor. The windows (3 and 4) matter for
most positions.

Two runs write the same bytes. The .npz is zipped with fixed timestamps.
"""

import argparse
import hashlib
import io
import json
import os
import shutil
import string
import subprocess
import sys
import tempfile
import zipfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
HF_MODELS = os.path.normpath(os.path.join(HERE, "..", "..", "hf", "models"))

FAMILIES = ["llama", "mistral", "qwen2", "qwen3", "llama3", "gemma2",
            "gemma3_text", "phi3", "gpt2", "bert"]
# Families whose llama.cpp output is per-token embeddings (no LM head).
ENCODERS = {"bert"}
# The converter's pre-tokenizer name for the families whose vocabulary goes
# through its BPE / WordPiece path (see convert()).
BPE_PRE = {"gpt2": "gpt-2", "bert": "default"}
TOKEN_SEED, SEQ, VOCAB, N_CTX = 4321, 20, 128, 64

# Checks that explain llama.cpp's disagreements: run the HF weights with
# these config changes (and optionally only the first n tokens) and compare
# with llama.cpp. See explain().
# "_gelu_fp16" is not a config field: it makes the MLP's GELU go through
# fp16 like ggml's CPU GELU for f32 (GGML_GELU_FP16: the input is rounded to
# fp16 and looked up in a table of fp16 results; 0 below -10, x above 10).
EXPLAIN = {
    "gemma2": [
        ("query_pre_attn_scalar = head_dim (llama.cpp scales scores by "
         "1/sqrt(head_dim) for any model but the 46-layer 27B)",
         {"query_pre_attn_scalar": 16}, SEQ),
        ("that, and GELU through fp16 as ggml does",
         {"query_pre_attn_scalar": 16, "_gelu_fp16": True}, SEQ),
    ],
    "gemma3_text": [
        ("query_pre_attn_scalar = head_dim",
         {"query_pre_attn_scalar": 16}, SEQ),
        ("both layers sliding (no swa pattern key: llama.cpp's default is 6, "
         "layers 0-4 of every 6 sliding)",
         {"layer_types": ["sliding_attention", "sliding_attention"]}, SEQ),
        ("both of the above",
         {"query_pre_attn_scalar": 16,
          "layer_types": ["sliding_attention", "sliding_attention"]}, SEQ),
        ("both, and GELU through fp16 as ggml does",
         {"query_pre_attn_scalar": 16, "_gelu_fp16": True,
          "layer_types": ["sliding_attention", "sliding_attention"]}, SEQ),
    ],
    "gpt2": [
        ("GELU (gelu_new) through fp16 as ggml does", {"_gelu_fp16": True},
         SEQ),
    ],
    "bert": [
        ("hidden_act gelu_new: llama.cpp's BERT graph uses ggml_gelu, the "
         "tanh form, where the checkpoint's hidden_act is the erf form",
         {"hidden_act": "gelu_new"}, SEQ),
        ("that, and GELU through fp16 as ggml does",
         {"hidden_act": "gelu_new", "_gelu_fp16": True}, SEQ),
    ],
    "phi3": [
        ("first 6 tokens: transformers uses short_factor, llama.cpp "
         "long_factor (n_ctx 64 > 16)", {}, 6),
        ("first 6 tokens, transformers given long_factor as short_factor",
         {"rope_parameters.short_factor": "long_factor"}, 6),
    ],
}


def tokens():
    rng = np.random.default_rng(TOKEN_SEED)
    return rng.integers(0, VOCAB, SEQ).astype(np.int32)


# --------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------

def tiny_sentencepiece():
    """A 128-piece unigram SentencePiece model, built directly (no training).

    0 <unk>, 1 <s>, 2 </s>, then "▁", a-z, A-Z, 0-9, "▁a".."▁z" and 35
    letter pairs, scored -1, -2, ..., and 127 <|endoftext|> (control).
    Only its token list ends up in the GGUF: the references evaluate token
    ids. <|endoftext|> is there because llama.cpp's vocabulary loader looks
    it up (std::unordered_map::at, which throws) for every model whose
    general.name contains "phi3".
    """
    from sentencepiece import sentencepiece_model_pb2 as pb
    piece = pb.ModelProto.SentencePiece
    m = pb.ModelProto()

    def add(text, score, kind):
        p = m.pieces.add()
        p.piece, p.score, p.type = text, score, kind

    add("<unk>", 0.0, piece.UNKNOWN)
    add("<s>", 0.0, piece.CONTROL)
    add("</s>", 0.0, piece.CONTROL)
    normal = (["\u2581"] + list(string.ascii_lowercase) +
              list(string.ascii_uppercase) + list(string.digits) +
              ["\u2581" + c for c in string.ascii_lowercase] + LETTER_PAIRS)
    assert len(normal) == VOCAB - 4 and len(set(normal)) == len(normal)
    for i, text in enumerate(normal):
        add(text, -float(i + 1), piece.NORMAL)
    add("<|endoftext|>", 0.0, piece.CONTROL)
    assert len(m.pieces) == VOCAB
    t = m.trainer_spec
    t.model_type, t.vocab_size = pb.TrainerSpec.UNIGRAM, VOCAB
    t.unk_id, t.bos_id, t.eos_id, t.pad_id = 0, 1, 2, -1
    n = m.normalizer_spec
    n.name, n.add_dummy_prefix = "identity", True
    n.remove_extra_whitespaces, n.escape_whitespaces = False, True
    return m.SerializeToString()


LETTER_PAIRS = ("th he in er an re on at en nd ti es or te of ed is it al ar "
                "st to nt ng se ha as ou io le ve co me de hi").split()


def tiny_gpt2_bpe(folder):
    """GPT-2's converter path reads a byte-level BPE tokenizer.json: 127
    pieces ("!", ",", ".", "Ġ", letters, digits, "Ġa".."Ġz", 35 letter
    pairs, with the merges that make the last two groups) and
    <|endoftext|> at 127, the checkpoint's bos and eos."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    pieces = (["!", ",", ".", "\u0120"] + list(string.ascii_lowercase) +
              list(string.ascii_uppercase) + list(string.digits) +
              ["\u0120" + c for c in string.ascii_lowercase] + LETTER_PAIRS)
    vocab = {p: i for i, p in enumerate(pieces)}
    merges = ([("\u0120", c) for c in string.ascii_lowercase] +
              [(p[0], p[1]) for p in LETTER_PAIRS])
    vocab["<|endoftext|>"] = len(vocab)
    assert len(vocab) == VOCAB
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    tok.save(os.path.join(folder, "tokenizer.json"))
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "GPT2Tokenizer",
                   "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                   "unk_token": "<|endoftext|>", "model_max_length": N_CTX}, f)


def tiny_wordpiece(folder):
    """BERT's converter path reads a WordPiece vocab.txt: [PAD] (the
    checkpoint's pad_token_id 0), [UNK], [CLS], [SEP], [MASK], a-z, digits,
    4 punctuation marks, "##a".."##z", the 35 letter pairs and 22 of them
    again as "##" pieces: 128 in all."""
    pieces = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] +
              list(string.ascii_lowercase) + list(string.digits) +
              [".", ",", "!", "?"] + ["##" + c for c in string.ascii_lowercase] +
              LETTER_PAIRS)
    pieces += ["##" + p for p in LETTER_PAIRS[:VOCAB - len(pieces)]]
    assert len(pieces) == VOCAB and len(set(pieces)) == VOCAB
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(pieces) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": True,
                   "model_max_length": N_CTX}, f)


# Runs llama.cpp's converter with one function replaced: get_vocab_base_pre,
# which names the BPE / WordPiece pre-tokenizer by hashing the token ids of a
# fixed text and refuses any hash it does not know (every tiny vocabulary).
# It returns the name given instead. The tensors and the model's metadata go
# through the converter unchanged.
CONVERT_WITH_PRE = """
import runpy, sys
llama_cpp, pre = sys.argv[1], sys.argv[2]
sys.path.insert(0, llama_cpp)
import conversion.base
conversion.base.TextModel.get_vocab_base_pre = lambda self, tokenizer: pre
sys.argv = [llama_cpp + "/convert_hf_to_gguf.py"] + sys.argv[3:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def convert(llama_cpp, name, work, out_path):
    folder = os.path.join(work, name)
    os.makedirs(folder)
    for f in ("config.json", "generation_config.json", "model.safetensors"):
        if os.path.exists(os.path.join(HF_MODELS, name, f)):
            shutil.copy(os.path.join(HF_MODELS, name, f), folder)
    if name == "gpt2":
        tiny_gpt2_bpe(folder)
        # GPT2Model.set_gguf_parameters reads hparams["n_ctx"], which older
        # GPT-2 configs have (= n_positions) and transformers 5 no longer
        # writes; transformers ignores it.
        with open(os.path.join(folder, "config.json")) as f:
            config = json.load(f)
        config["n_ctx"] = config["n_positions"]
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
    elif name == "bert":
        tiny_wordpiece(folder)
    else:
        with open(os.path.join(folder, "tokenizer.model"), "wb") as f:
            f.write(tiny_sentencepiece())
    env = dict(os.environ)
    env.pop("NO_LOCAL_GGUF", None)          # the converter's own gguf-py
    args = ["--outtype", "f32", "--model-name", name, "--outfile", out_path,
            folder]
    if name in BPE_PRE:
        cmd = [sys.executable, "-c", CONVERT_WITH_PRE, llama_cpp,
               BPE_PRE[name]] + args
    else:
        cmd = [sys.executable, os.path.join(llama_cpp, "convert_hf_to_gguf.py")] + args
    run = subprocess.run(cmd, env=env, cwd=work, capture_output=True,
                         text=True)
    if run.returncode != 0:
        raise RuntimeError("%s: converter failed:\n%s" % (name, run.stderr[-4000:]))
    return [line for line in run.stderr.splitlines() if "WARNING" in line]


# --------------------------------------------------------------------------
# Runtimes
# --------------------------------------------------------------------------

def llamacpp_logits(path, ids):
    import llama_cpp
    llm = llama_cpp.Llama(
        model_path=path, n_ctx=N_CTX, n_batch=N_CTX, n_ubatch=N_CTX,
        n_threads=1, n_threads_batch=1, logits_all=True,
        type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32,
        flash_attn=False, n_gpu_layers=0, seed=0, verbose=False)
    llm.eval([int(t) for t in ids])
    assert llm.n_tokens == len(ids)
    out = np.array(llm.scores[:len(ids)], dtype=np.float32)
    llm.close()
    return out


def llamacpp_embeddings(path, ids, pooling):
    """llama.cpp's embeddings of one sequence (embedding mode): per token
    [n, hidden] with pooling none, else the pooled [hidden]. Unnormalized.
    Token types are all 0 (llama.cpp adds row 0 of token_types)."""
    import llama_cpp
    llm = llama_cpp.Llama(
        model_path=path, embedding=True, pooling_type=pooling, n_ctx=N_CTX,
        n_batch=N_CTX, n_ubatch=N_CTX, n_threads=1, n_threads_batch=1,
        type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32,
        flash_attn=False, n_gpu_layers=0, seed=0, verbose=False)
    n = llm.n_embd()
    llm._batch.reset()
    llm._batch.add_sequence([int(t) for t in ids], 0, True)
    llm._ctx.kv_cache_clear()
    llm._ctx.decode(llm._batch)
    if pooling == llama_cpp.LLAMA_POOLING_TYPE_NONE:
        ptr = llama_cpp.llama_get_embeddings(llm._ctx.ctx)
        out = np.array(ptr[:len(ids) * n], dtype=np.float32).reshape(len(ids), n)
    else:
        ptr = llama_cpp.llama_get_embeddings_seq(llm._ctx.ctx, 0)
        out = np.array(ptr[:n], dtype=np.float32)
    llm.close()
    return out


def llamacpp_output(name, path, ids):
    if name in ENCODERS:
        import llama_cpp
        return llamacpp_embeddings(path, ids, llama_cpp.LLAMA_POOLING_TYPE_NONE)
    return llamacpp_logits(path, ids)


def hf_model(name, overrides=None):
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM
    folder = os.path.join(HF_MODELS, name)
    config = AutoConfig.from_pretrained(folder)
    overrides = dict(overrides or {})
    gelu_fp16 = overrides.pop("_gelu_fp16", False)
    for key, value in overrides.items():
        if key.startswith("rope_parameters."):
            rope = dict(config.rope_parameters)
            field = key.split(".", 1)[1]
            rope[field] = rope[value] if isinstance(value, str) else value
            config.rope_parameters = rope
        else:
            setattr(config, key, value)
    auto = AutoModel if name in ENCODERS else AutoModelForCausalLM
    model = auto.from_pretrained(
        folder, config=config, dtype=torch.float32,
        attn_implementation="eager")
    if gelu_fp16:
        if name == "gpt2":
            for block in model.transformer.h:
                block.mlp.act = ggml_gelu(block.mlp.act)
        elif name == "bert":
            for layer in model.encoder.layer:
                inter = layer.intermediate
                inter.intermediate_act_fn = ggml_gelu(inter.intermediate_act_fn)
        else:
            for layer in model.model.layers:
                layer.mlp.act_fn = ggml_gelu(layer.mlp.act_fn)
    return model.eval()


def ggml_gelu(act):
    import torch

    class GeluFp16(torch.nn.Module):
        def forward(self, x):
            y = act(x.half().float()).half().float()
            return torch.where(x <= -10, torch.zeros_like(x),
                               torch.where(x >= 10, x, y))
    return GeluFp16()


def transformers_logits(model, ids):
    """Logits, or an encoder's last hidden state (attention mask all ones,
    token types all 0, as llama.cpp runs it)."""
    import torch
    t = torch.from_numpy(ids.astype(np.int64))[None]
    with torch.no_grad():
        if model.config.model_type == "bert":
            out = model(input_ids=t, attention_mask=torch.ones_like(t),
                        token_type_ids=torch.zeros_like(t)).last_hidden_state[0]
        else:
            out = model(input_ids=t, use_cache=False).logits[0]
    # Clone from fresh (64-byte aligned) memory: the weights that
    # from_pretrained maps from the file can make MKL's results move by an
    # ulp, depending on where the safetensors data starts.
    return out.float().numpy().copy()


def aligned(model):
    import torch
    with torch.no_grad():
        for p in model.parameters():
            p.data = p.data.clone()
    return model


def rel(a, b):
    return float(np.abs(a.astype(np.float64) - b).max() / np.abs(b).max())


# --------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------

def gguf_module(llama_cpp):
    sys.path.insert(0, os.path.join(llama_cpp, "gguf-py"))
    import gguf
    return gguf


def field_value(gguf, field):
    """(type, value): type is the GGUF value type's name, "ARRAY[ITEM]" for
    arrays; float32 values are written with the fewest digits that give the
    same float32."""
    kinds = [t.name for t in field.types]
    if field.types[0] == gguf.GGUFValueType.ARRAY:
        value = [field.contents(i) for i in range(len(field.data))]
        kind = "ARRAY[%s]" % kinds[1]
    else:
        value, kind = field.contents(), kinds[0]
    if kind in ("FLOAT32", "ARRAY[FLOAT32]"):
        short = lambda v: float(str(np.float32(v)))
        value = [short(v) for v in value] if isinstance(value, list) else short(value)
    return kind, value


def llama_permute(w, n_head, n_head_kv=None):
    """convert_hf_to_gguf's LlamaModel.permute (q: n_head, k: n_head_kv)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def find_source(t, hf, n_head, n_kv):
    """(hf name, transform) whose values equal GGUF tensor t, or None."""
    for key, h in hf.items():
        # GPT-2's Conv1D weights are stored [in, out].
        if h.ndim == 2 and h.T.shape == t.shape and np.array_equal(t, h.T):
            if h.shape != t.shape or not np.array_equal(t, h):
                return key, "transposed"
        if h.shape == t.shape:
            if np.array_equal(t, h):
                return key, "identity"
            if np.array_equal(t, (h + np.float32(1)).astype(np.float32)):
                return key, "+1"
            if h.ndim == 2:
                if np.array_equal(t, llama_permute(h, n_head, n_head)):
                    return key, "permute rows (llama q: n_head %d)" % n_head
                if np.array_equal(t, llama_permute(h, n_head, n_kv)):
                    return key, "permute rows (llama k: n_head_kv %d)" % n_kv
    for key, h in hf.items():
        if (h.ndim == 2 and t.ndim == 2 and h.shape[1] == t.shape[1]
                and h.shape[0] > t.shape[0]):
            for start in range(0, h.shape[0] - t.shape[0] + 1):
                if np.array_equal(t, h[start:start + t.shape[0]]):
                    return key, "rows %d:%d" % (start, start + t.shape[0])
    return None


def manifest_entry(gguf, path, name):
    from safetensors.numpy import load_file
    hf = load_file(os.path.join(HF_MODELS, name, "model.safetensors"))
    with open(os.path.join(HF_MODELS, name, "config.json")) as f:
        config = json.load(f)
    n_head = config.get("num_attention_heads", config.get("n_head"))
    n_kv = config.get("num_key_value_heads", n_head)
    reader = gguf.GGUFReader(path)
    metadata = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        kind, value = field_value(gguf, field)
        if key in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores",
                   "tokenizer.ggml.token_type"):
            value = {"count": len(value), "first": value[:4]}
        metadata[key] = {"type": kind, "value": value}
    tensors, used = [], set()
    for t in reader.tensors:
        data = np.asarray(t.data)
        shape = [int(x) for x in t.shape]          # GGUF ne (fastest first)
        row_major = list(reversed(shape))
        data = data.reshape(row_major)
        row = {"name": t.name, "type": t.tensor_type.name, "ne": shape,
               "shape": row_major}
        src = find_source(data, hf, n_head, n_kv)
        if src:
            row["hf"], row["transform"] = src
            used.add(src[0])
        else:
            row["hf"], row["transform"] = None, "computed by the converter"
            row["values"] = [float(v) for v in data.reshape(-1)]
        tensors.append(row)
    unused = sorted(set(hf) - used)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {"file": os.path.basename(path), "bytes": os.path.getsize(path),
            "sha256": digest, "hf_folder": name,
            "hf_architecture": config["architectures"][0],
            "architecture": metadata["general.architecture"]["value"],
            "metadata": metadata, "tensors": tensors,
            "hf_tensors_not_in_gguf": unused}


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def save_npz(path, arrays):
    """np.savez without the wall-clock timestamps (reproducible bytes)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]),
                                      allow_pickle=False)
            zf.writestr(info, buf.getvalue())


def explain(name, path, ids, llamacpp):
    rows = []
    for label, overrides, n in EXPLAIN.get(name, []):
        lc = llamacpp if n == len(ids) else llamacpp_output(name, path, ids[:n])
        hf = transformers_logits(aligned(hf_model(name, overrides)), ids[:n])
        rows.append({"what": label, "hf_config_changes": overrides,
                     "tokens": n, "max_abs_diff_over_max_abs": rel(lc, hf)})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--llama-cpp", default=os.environ.get(
        "LLAMA_CPP_DIR", "/tmp/lcp/llama.cpp"))
    parser.add_argument("--out", default=HERE)
    parser.add_argument("--only", nargs="+", choices=FAMILIES)
    args = parser.parse_args()
    import torch
    import transformers
    import llama_cpp
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    try:
        transformers.utils.logging.disable_progress_bar()
    except AttributeError:
        pass
    gguf = gguf_module(args.llama_cpp)
    os.makedirs(args.out, exist_ok=True)
    names = args.only or FAMILIES
    ids = tokens()
    npz_path = os.path.join(args.out, "reference.npz")
    manifest_path = os.path.join(args.out, "manifest.json")
    arrays, manifest = {}, {}
    if args.only:                              # keep the other families
        arrays = dict(np.load(npz_path)) if os.path.exists(npz_path) else {}
        if os.path.exists(manifest_path):
            with open(manifest_path) as f:
                manifest = json.load(f)["models"]
    arrays["tokens"] = ids
    work = tempfile.mkdtemp(prefix="qtc-gguf-families-")
    try:
        for name in names:
            path = os.path.join(args.out, name + ".gguf")
            warnings = convert(args.llama_cpp, name, work, path)
            os.chmod(path, 0o644)
            lc = llamacpp_output(name, path, ids)
            hf = transformers_logits(aligned(hf_model(name)), ids)
            arrays["llamacpp_" + name] = lc
            arrays["transformers_" + name] = hf
            if name in ENCODERS:
                # llama.cpp's mean pooling of the same sequence: what a
                # file with pooling_type 1 gives as its embedding.
                arrays["llamacpp_%s_mean" % name] = llamacpp_embeddings(
                    path, ids, llama_cpp.LLAMA_POOLING_TYPE_MEAN)
            entry = manifest_entry(gguf, path, name)
            entry["converter_warnings"] = [w.split(":", 2)[-1] for w in warnings]
            entry["agreement"] = {
                "max_abs_diff": float(np.abs(lc.astype(np.float64) - hf).max()),
                "max_abs_logit": float(np.abs(hf).max()),
                "max_abs_diff_over_max_abs": rel(lc, hf),
                "explained_by": explain(name, path, ids, lc),
            }
            manifest[name] = entry
            print("%-12s %-8s %8d B  llama.cpp vs transformers: max |d| / max |logit| = %.3g"
                  % (name, entry["architecture"], entry["bytes"],
                     entry["agreement"]["max_abs_diff_over_max_abs"]))
            for row in entry["agreement"]["explained_by"]:
                print("%23s %s: %.3g" % ("", row["what"], row["max_abs_diff_over_max_abs"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    save_npz(npz_path, arrays)
    os.chmod(npz_path, 0o644)
    doc = {
        "generator": "gen_families.py",
        "tokens": [int(t) for t in ids],
        "llama_cpp": {"n_ctx": N_CTX, "n_batch": N_CTX, "n_threads": 1,
                      "logits_all": True, "type_k": "f32", "type_v": "f32",
                      "flash_attn": False,
                      "llama_cpp_python": llama_cpp.__version__},
        "transformers": {"version": transformers.__version__,
                         "torch": torch.__version__, "dtype": "float32",
                         "attn_implementation": "eager"},
        "models": {k: manifest[k] for k in FAMILIES if k in manifest},
    }
    with open(manifest_path, "w") as f:
        f.write(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    os.chmod(manifest_path, 0o644)


if __name__ == "__main__":
    main()
