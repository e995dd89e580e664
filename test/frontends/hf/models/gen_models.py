#!/usr/bin/env python3
"""Writes tiny Hugging Face checkpoints for qtc's safetensors model builders.

    HF_HUB_OFFLINE=1 python3 test/frontends/hf/models/gen_models.py
    ... gen_models.py --out /tmp/models     # somewhere else (e.g. to diff)
    ... gen_models.py --verify-only         # only re-check what is there

One folder per model, each written by transformers' own `save_pretrained`
(safetensors; config.json; generation_config.json for the decoders), and a
`reference.npz` with deterministic inputs and what transformers computes
from them (eval, no_grad, float32, eager attention):

    llama/            LlamaForCausalLM, GQA 4 heads / 2 kv heads, untied
    llama_tied_fp16/  the same architecture, tied embeddings, saved in float16
    mistral/          MistralForCausalLM, sliding_window null
    qwen2/            Qwen2ForCausalLM (q/k/v biases)
    gpt2/             GPT2LMHeadModel (Conv1D weights, tied lm_head)
    bert/             BertModel (padding mask, token types, pooler)
    llama_gptq/       llama/'s linear layers, 4-bit g32 asym RTN, GPTQ v1 layout
    llama_awq/        llama/'s linear layers, 4-bit g32 zero-point RTN, AWQ GEMM
    qwen3/            Qwen3ForCausalLM (q_norm / k_norm, explicit head_dim)
    mistral_sw/       MistralForCausalLM, sliding_window 4 (< the 6 positions)
    llama3/           LlamaForCausalLM, llama3 rope scaling, tied embeddings
    gemma2/           Gemma2ForCausalLM (softcaps, query_pre_attn_scalar 24,
                      sliding/full layers, window 3, (1 + w) norms)
    gemma3_text/      Gemma3ForCausalLM (q/k norms, local/global rope thetas,
                      sliding/full layers, window 3)
    phi3/             Phi3ForCausalLM (fused qkv / gate_up, longrope, partial
                      rotary 0.5)

The weights are random and seeded: torch.manual_seed before each model is
built (transformers' own init), then every parameter is redrawn from a
seeded torch.Generator with scales that keep activations O(1): linear
weights N(0, 1/fan_in), embeddings N(0, 0.25), norm weights 1 + N(0, 0.01)
(N(0, 0.01) for Gemma, whose RMSNorm scales by 1 + w), biases N(0, 0.01). transformers' default init (std 0.02, norm weights 1,
biases 0) gives near-constant logits and would not notice a builder that
drops a norm weight or a bias.

GPTQ and AWQ tensors are packed with the numpy packers of
../fixtures/gen_fixtures.py (AutoGPTQ QuantLinear.pack, AutoAWQ
WQLinear_GEMM.from_linear layouts), and their references are the forward
of the llama model whose quantized linears were replaced by the weights
those libraries' dequantization reads back from the packed tensors, in
float32.

The .npz files are written with fixed zip timestamps, so a second run
reproduces every file byte for byte (for given torch / transformers /
safetensors / numpy versions and CPU: the safetensors do not depend on the
CPU, the references can move by an ulp or so on another one). `--only NAME`
writes only the named folders and leaves the others as they are.

Models with sliding-window layers get their references through a plain
(full-length) DynamicCache, so their present keys / values hold all 6
positions like the others; the window is applied by the attention mask, not
by dropping cache entries. For every model whose config has a feature that
a builder could silently ignore (window, rope scaling, softcaps, the query
scale, local rope theta, longrope), the generator also runs the same weights
with that feature turned off and checks that the logits move.
"""

import argparse
import copy
import hashlib
import inspect
import io
import json
import os
import shutil
import sys
import zipfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy
from transformers import (BertConfig, BertModel, DynamicCache, Gemma2Config,
                          Gemma2ForCausalLM, Gemma3ForCausalLM,
                          Gemma3TextConfig, GPT2Config, GPT2LMHeadModel,
                          LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, Phi3Config, Phi3ForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM, Qwen3Config,
                          Qwen3ForCausalLM)

HERE = os.path.dirname(os.path.abspath(__file__))

# Reuse the GPTQ / AWQ packers of the layer fixtures. Do not leave a
# __pycache__ behind in that folder.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import gen_fixtures as gf  # noqa: E402

transformers.logging.set_verbosity_error()
try:  # the "Writing model shards" progress bar
    transformers.utils.logging.disable_progress_bar()
except AttributeError:
    pass

INPUT_SEED = 1234          # decoder and bert inputs
PREFILL, VOCAB = 5, 128
QUANT_BITS, QUANT_GROUP = 4, 32
ATTN = "eager"             # references use the plain attention path

# Linear layers quantized in llama_gptq / llama_awq (per layer).
QUANT_LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                 "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj",
                 "mlp.down_proj"]


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

def llama_config(tie):
    return LlamaConfig(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, intermediate_size=128,
        vocab_size=VOCAB, max_position_embeddings=64, rope_theta=10000.0,
        rms_norm_eps=1e-5, tie_word_embeddings=tie)


def mistral_config():
    # Mistral's own defaults where they differ from llama's (eps 1e-6), and a
    # different rope_theta, so a builder must read them from config.json.
    return MistralConfig(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, intermediate_size=128,
        vocab_size=VOCAB, max_position_embeddings=64, rope_theta=1000000.0,
        rms_norm_eps=1e-6, sliding_window=None, tie_word_embeddings=False)


def qwen2_config():
    return Qwen2Config(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, intermediate_size=128, vocab_size=VOCAB,
        max_position_embeddings=64, rope_theta=1000000.0, rms_norm_eps=1e-6,
        use_sliding_window=False, tie_word_embeddings=False,
        bos_token_id=1, eos_token_id=2)


def gpt2_config():
    # GPT2's default bos/eos (50256) lie outside a 128-token vocabulary.
    return GPT2Config(n_embd=64, n_layer=2, n_head=4, vocab_size=VOCAB,
                      n_positions=64, bos_token_id=VOCAB - 1,
                      eos_token_id=VOCAB - 1)


def bert_config():
    return BertConfig(hidden_size=64, num_hidden_layers=2,
                      num_attention_heads=4, intermediate_size=128,
                      vocab_size=VOCAB, max_position_embeddings=64)


# The shared shape of the decoders below (as llama's).
BASE = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, intermediate_size=128, vocab_size=VOCAB,
            max_position_embeddings=64)


def qwen3_config():
    return Qwen3Config(**BASE, head_dim=16, rope_theta=1000000.0,
                       rms_norm_eps=1e-6, attention_bias=False,
                       use_sliding_window=False, tie_word_embeddings=False,
                       bos_token_id=1, eos_token_id=2)


def mistral_sw_config(sliding_window=4):
    # A window of 4 < the 6 reference positions: prefill position 4 and the
    # step (position 5) no longer see position 0 (and 1).
    return MistralConfig(**BASE, head_dim=16, rope_theta=1000000.0,
                         rms_norm_eps=1e-6, sliding_window=sliding_window,
                         tie_word_embeddings=False)


LLAMA3_ROPE = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
               "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 16}


def llama3_config(rope=LLAMA3_ROPE):
    # original_max_position_embeddings 16: wavelengths above 16 positions are
    # divided by 8, those between 4 and 16 are smoothed (all 8 frequencies
    # of head_dim 16 change).
    return LlamaConfig(**BASE, head_dim=16, rope_parameters=dict(rope),
                       rms_norm_eps=1e-5, tie_word_embeddings=True,
                       bos_token_id=1, eos_token_id=2)


def gemma2_config(**over):
    # Small softcaps so that tanh is far from linear on these logits, and
    # query_pre_attn_scalar != head_dim so the 1/sqrt(24) scale matters.
    # layer_types: transformers' default for Gemma2, sliding then full.
    kw = dict(BASE, head_dim=16, query_pre_attn_scalar=24,
              attn_logit_softcapping=2.0, final_logit_softcapping=3.0,
              sliding_window=3, hidden_activation="gelu_pytorch_tanh",
              rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=True,
              pad_token_id=0, eos_token_id=1, bos_token_id=2)
    kw.update(over)
    return Gemma2Config(**kw)


GEMMA3_ROPE = {"full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
               "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}


def gemma3_text_config(**over):
    # transformers 5 takes the global / local thetas as
    # rope_parameters.{full_attention,sliding_attention}.rope_theta (4.x:
    # rope_theta / rope_local_base_freq). sliding_window_pattern is only
    # passed so that the config's _sliding_window_pattern agrees with
    # layer_types (it defaults to 6).
    kw = dict(BASE, head_dim=16, query_pre_attn_scalar=24, sliding_window=3,
              layer_types=["sliding_attention", "full_attention"],
              sliding_window_pattern=2,
              rope_parameters=copy.deepcopy(GEMMA3_ROPE),
              hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6,
              tie_word_embeddings=True, pad_token_id=0, eos_token_id=1,
              bos_token_id=2)
    kw.update(over)
    return Gemma3TextConfig(**kw)


PHI3_ROPE = {"rope_type": "longrope", "rope_theta": 10000.0,
             "partial_rotary_factor": 0.5,
             "original_max_position_embeddings": 16,
             # rotary dims = 16 * 0.5 = 8, so 4 factors each.
             "short_factor": [1.0, 1.5, 2.25, 3.0],
             "long_factor": [1.25, 2.0, 3.0, 4.0]}


def phi3_config(rope=PHI3_ROPE):
    # max_position_embeddings 64 / original 16 = 4 gives the longrope
    # attention factor sqrt(1 + ln 4 / ln 16) = 1.2247 on cos / sin.
    # transformers picks long_factor only for sequences longer than 16
    # positions, so these 6-position references use short_factor.
    return Phi3Config(**BASE, original_max_position_embeddings=16,
                      rope_parameters=copy.deepcopy(rope), rms_norm_eps=1e-5,
                      sliding_window=None, tie_word_embeddings=False,
                      bos_token_id=1, eos_token_id=2, pad_token_id=None)


# name -> (model class, config factory, seed, save dtype, kind)
MODELS = {
    "llama": (LlamaForCausalLM, lambda: llama_config(False), 11, torch.float32, "decoder"),
    "llama_tied_fp16": (LlamaForCausalLM, lambda: llama_config(True), 12, torch.float16, "decoder"),
    "mistral": (MistralForCausalLM, mistral_config, 13, torch.float32, "decoder"),
    "qwen2": (Qwen2ForCausalLM, qwen2_config, 14, torch.float32, "decoder"),
    "gpt2": (GPT2LMHeadModel, gpt2_config, 15, torch.float32, "decoder"),
    "bert": (BertModel, bert_config, 16, torch.float32, "encoder"),
    "qwen3": (Qwen3ForCausalLM, qwen3_config, 17, torch.float32, "decoder"),
    "mistral_sw": (MistralForCausalLM, mistral_sw_config, 18, torch.float32, "decoder"),
    "llama3": (LlamaForCausalLM, llama3_config, 19, torch.float32, "decoder"),
    "gemma2": (Gemma2ForCausalLM, gemma2_config, 20, torch.float32, "decoder"),
    "gemma3_text": (Gemma3ForCausalLM, gemma3_text_config, 21, torch.float32, "decoder"),
    "phi3": (Phi3ForCausalLM, phi3_config, 22, torch.float32, "decoder"),
}

# Gemma's RMSNorm computes x * (1 + w): draw w around 0, not 1.
NORM_CENTER = {"gemma2": 0.0, "gemma3_text": 0.0}

# The same weights with one config feature turned off: the logits must move
# by more than ABLATION_MIN, or the fixture would not test that feature.
ABLATION_MIN = 1e-2
ABLATIONS = {
    "mistral_sw": {"no sliding window": lambda: mistral_sw_config(None)},
    "llama3": {"default rope (no llama3 scaling)":
               lambda: llama3_config({"rope_type": "default", "rope_theta": 500000.0})},
    "gemma2": {
        "query_pre_attn_scalar = head_dim": lambda: gemma2_config(query_pre_attn_scalar=16),
        "no attn softcap": lambda: gemma2_config(attn_logit_softcapping=None),
        "no final softcap": lambda: gemma2_config(final_logit_softcapping=None),
        "window 64 (none)": lambda: gemma2_config(sliding_window=64),
    },
    "gemma3_text": {
        "query_pre_attn_scalar = head_dim": lambda: gemma3_text_config(query_pre_attn_scalar=16),
        "window 64 (none)": lambda: gemma3_text_config(sliding_window=64),
        "local theta = global theta": lambda: gemma3_text_config(rope_parameters={
            "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 1000000.0}}),
        "both layers sliding (llama.cpp's default pattern)": lambda: gemma3_text_config(
            layer_types=["sliding_attention", "sliding_attention"]),
    },
    "phi3": {
        "plain rope (no longrope factors / attention factor)": lambda: phi3_config(
            {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}),
        "long_factor as short_factor": lambda: phi3_config(
            dict(PHI3_ROPE, short_factor=PHI3_ROPE["long_factor"])),
    },
}


def randomize(model, seed, norm_center=1.0):
    """Redraws every parameter (tied ones once) from a seeded generator."""
    from transformers.pytorch_utils import Conv1D
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            owner = model.get_submodule(name.rsplit(".", 1)[0])
            leaf = name.rsplit(".", 1)[1]
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if isinstance(owner, torch.nn.Embedding):
                value = 0.5 * noise
            elif leaf == "bias":
                value = 0.1 * noise
            elif p.dim() == 1:                     # RMSNorm / LayerNorm weight
                value = norm_center + 0.1 * noise
            elif isinstance(owner, torch.nn.Linear):
                value = noise / owner.in_features ** 0.5
            elif isinstance(owner, Conv1D):        # GPT2: weight is [in, out]
                value = noise / p.shape[0] ** 0.5
            else:
                raise AssertionError("unexpected parameter " + name)
            p.copy_(value.to(p.dtype))


def build(name):
    cls, make_config, seed, _, _ = MODELS[name]
    torch.manual_seed(seed)
    model = cls(make_config())
    randomize(model, seed, NORM_CENTER.get(name, 1.0))
    return eager(model)


def eager(model):
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation(ATTN)
    else:
        model.config._attn_implementation = ATTN
    return model.eval()


def save_pretrained(model, folder):
    kwargs = {}
    # transformers 4.x: safe_serialization picks safetensors over pickles.
    # 5.x writes only safetensors and has no such parameter (it would be
    # swallowed by **kwargs, which go to the hub upload).
    if "safe_serialization" in inspect.signature(model.save_pretrained).parameters:
        kwargs["safe_serialization"] = True
    model.save_pretrained(folder, **kwargs)


# --------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------

def cache_layers(cache):
    """(key, value) per layer of whatever cache transformers returns."""
    if hasattr(cache, "layers"):                      # 5.x Cache objects
        return [(layer.keys, layer.values) for layer in cache.layers]
    if hasattr(cache, "key_cache"):                   # 4.4x DynamicCache
        return list(zip(cache.key_cache, cache.value_cache))
    return [(k, v) for k, v in cache]                 # legacy tuples


def decoder_inputs():
    gen = torch.Generator().manual_seed(INPUT_SEED)
    ids = torch.randint(0, VOCAB, (1, PREFILL + 1), generator=gen)
    return ids[:, :PREFILL], ids[:, PREFILL:]


def has_window(config):
    return (getattr(config, "sliding_window", None) is not None or
            "sliding_attention" in (getattr(config, "layer_types", None) or []))


def decoder_reference(model):
    input_ids, next_ids = decoder_inputs()
    pos = torch.arange(PREFILL)[None]
    next_pos = torch.tensor([[PREFILL]])
    kwargs = {}
    if has_window(model.config):
        # The model's own DynamicCache(config) keeps only the last window - 1
        # positions of sliding layers. A plain one keeps all 6 (the window is
        # in the mask), the layout the other references have.
        kwargs["past_key_values"] = DynamicCache()
    with torch.no_grad():
        prefill = model(input_ids=input_ids, position_ids=pos, use_cache=True,
                        **kwargs)
        logits = prefill.logits.clone()
        step = model(input_ids=next_ids, position_ids=next_pos,
                     past_key_values=prefill.past_key_values, use_cache=True)
        full = model(input_ids=torch.cat([input_ids, next_ids], 1),
                     position_ids=torch.arange(PREFILL + 1)[None],
                     use_cache=False).logits
    # The cached step must agree with a plain 6-token forward.
    assert torch.allclose(full[:, :PREFILL], logits, atol=1e-5), "prefill"
    assert torch.allclose(full[:, PREFILL:], step.logits, atol=1e-5), "step"
    ref = {
        "input_ids": input_ids.numpy().astype(np.int64),
        "position_ids": pos.numpy().astype(np.int64),
        "logits": logits.float().numpy(),
        "next_input_ids": next_ids.numpy().astype(np.int64),
        "next_position_ids": next_pos.numpy().astype(np.int64),
        "next_logits": step.logits.float().numpy(),
    }
    cfg = model.config
    kv_heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    layers = cache_layers(step.past_key_values)
    assert len(layers) == cfg.num_hidden_layers
    for i, (k, v) in enumerate(layers):
        for what, t in (("key", k), ("value", v)):
            t = t.float().numpy()
            assert t.shape == (1, kv_heads, PREFILL + 1, head_dim), (what, i, t.shape)
            ref["present_%s_%d" % (what, i)] = t
    return ref


def bert_inputs():
    gen = torch.Generator().manual_seed(INPUT_SEED)
    ids = torch.randint(1, VOCAB, (2, 6), generator=gen)
    mask = torch.ones(2, 6, dtype=torch.int64)
    mask[1, 4:] = 0
    ids[1, 4:] = 0                                    # pad_token_id
    return ids, mask, torch.zeros(2, 6, dtype=torch.int64)


def bert_reference(model):
    ids, mask, types = bert_inputs()
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
    return {
        "input_ids": ids.numpy().astype(np.int64),
        "attention_mask": mask.numpy().astype(np.int64),
        "token_type_ids": types.numpy().astype(np.int64),
        "last_hidden_state": out.last_hidden_state.float().numpy(),
        "pooler_output": out.pooler_output.float().numpy(),
    }


def reference(model, kind):
    model = model.float().eval()
    return decoder_reference(model) if kind == "decoder" else bert_reference(model)


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


# --------------------------------------------------------------------------
# GPTQ / AWQ
# --------------------------------------------------------------------------

def quant_prefixes(num_layers):
    return ["model.layers.%d.%s" % (i, lin) for i in range(num_layers)
            for lin in QUANT_LINEARS]


def gptq_rtn(weight, bits=QUANT_BITS, g=QUANT_GROUP):
    """RTN with AutoGPTQ's asymmetric Quantizer, packed like QuantLinear.pack.

    weight: nn.Linear weight [N, K] float32. Per group of g input columns:
    xmin = min(w, 0), xmax = max(w, 0), scale = (xmax - xmin) / maxq,
    zero = round(-xmin / scale), q = clamp(round(w / scale) + zero, 0, maxq).
    pack() then recomputes the codes from the dequantized weight with the
    fp16 scales, round((w_dq + zero * scale) / scale_fp16), stores
    zero - 1 (v1), and packs codes along K and zeros along N.
    """
    maxq = (1 << bits) - 1
    W = np.ascontiguousarray(np.asarray(weight, dtype=np.float32).T)  # [K, N]
    K, N = W.shape
    G = K // g
    g_idx = (np.arange(K) // g).astype(np.int32)
    grouped = W.reshape(G, g, N)
    xmin = np.minimum(grouped.min(axis=1), 0)
    xmax = np.maximum(grouped.max(axis=1), 0)
    both0 = (xmin == 0) & (xmax == 0)
    xmin[both0], xmax[both0] = -1, 1
    scale = ((xmax - xmin) / maxq).astype(np.float32)    # [G, N]
    zero = np.round(-xmin / scale).astype(np.float32)
    q = np.clip(np.round(W / scale[g_idx]) + zero[g_idx], 0, maxq)
    w_dq = scale[g_idx] * (q - zero[g_idx])              # what GPTQ hands pack()
    scales16 = scale.astype(np.float16)
    intweight = np.round((w_dq + (zero * scale)[g_idx]) /
                         scales16.astype(np.float32)[g_idx]).astype(np.int64)
    assert np.array_equal(intweight, q.astype(np.int64)), "pack() would change codes"
    assert (zero >= 1).all(), "a v1 zero of 0 would clobber its qzeros word"
    zeros = zero.astype(np.int64)
    tensors = {
        "qweight": gf.gptq_pack(intweight.astype(np.uint32), bits, axis=0).view(np.int32),
        "qzeros": gf.gptq_pack((zeros - 1).astype(np.uint32), bits, axis=1).view(np.int32),
        "scales": scales16,
        "g_idx": g_idx,
    }
    assert tensors["qweight"].shape == (K * bits // 32, N)
    assert tensors["qzeros"].shape == (G, N * bits // 32)
    ref = gptq_dequantize(tensors, bits, K, N)
    gf.check_reference(ref, intweight, zeros, scales16, g_idx)
    return tensors


def gptq_dequantize(t, bits, K, N):
    """AutoGPTQ's read-back (v1: +1 on the zeros), float32, [K, N]."""
    w = gf.gptq_unpack_like_autogptq(t["qweight"], bits, K, axis=0)
    z = gf.gptq_unpack_like_autogptq(t["qzeros"], bits, N, axis=1) + 1
    g_idx = t["g_idx"]
    return (t["scales"].astype(np.float32)[g_idx] *
            (w - z[g_idx]).astype(np.float32)).astype(np.float32)


def awq_rtn(weight, g=QUANT_GROUP):
    """RTN with AutoAWQ's pseudo_quantize_tensor (zero_point=True, 4 bits),
    packed like WQLinear_GEMM.from_linear.

    Per group: scale = clamp(max - min, 1e-5) / 15,
    zero = clamp(-round(min / scale), 0, 15),
    q = clamp(round(w / scale) + zero, 0, 15); from_linear recomputes the
    codes with the fp16 scales and packs codes and zeros along N with the
    [0, 2, 4, 6, 1, 3, 5, 7] nibble order.
    """
    W = np.ascontiguousarray(np.asarray(weight, dtype=np.float32).T)  # [K, N]
    K, N = W.shape
    G = K // g
    grouped = W.reshape(G, g, N)
    mx, mn = grouped.max(axis=1), grouped.min(axis=1)
    scale = (np.maximum(mx - mn, 1e-5) / 15).astype(np.float32)
    zero = np.clip(-np.round(mn / scale), 0, 15).astype(np.float32)
    rows = np.arange(K) // g
    q = np.clip(np.round(W / scale[rows]) + zero[rows], 0, 15)
    w_dq = (q - zero[rows]) * scale[rows]
    scales16 = scale.astype(np.float16)
    intweight = np.round((w_dq + (zero * scale)[rows]) /
                         scales16.astype(np.float32)[rows]).astype(np.int64)
    assert np.array_equal(intweight, q.astype(np.int64)), "from_linear would change codes"
    tensors = {
        "qweight": gf.awq_pack(intweight),
        "qzeros": gf.awq_pack(zero.astype(np.int64)),
        "scales": scales16,
    }
    assert tensors["qweight"].shape == (K, N // 8)
    assert tensors["qzeros"].shape == (G, N // 8)
    ref = awq_dequantize(tensors, g)
    direct = scales16.astype(np.float32)[rows] * (intweight - zero[rows].astype(np.int64)).astype(np.float32)
    assert np.array_equal(ref, direct), "AWQ read-back disagrees"
    return tensors


def awq_dequantize(t, g=QUANT_GROUP):
    return gf.awq_dequantize_like_autoawq(t["qweight"], t["qzeros"], t["scales"], g)


QUANT = {
    # name -> (quantize, dequantize(tensors, K, N) -> [K, N], quantization_config)
    "llama_gptq": (gptq_rtn, lambda t, K, N: gptq_dequantize(t, QUANT_BITS, K, N),
                   {"quant_method": "gptq", "bits": QUANT_BITS,
                    "group_size": QUANT_GROUP, "desc_act": False, "sym": False,
                    "checkpoint_format": "gptq"}),
    "llama_awq": (awq_rtn, lambda t, K, N: awq_dequantize(t),
                  {"quant_method": "awq", "bits": QUANT_BITS,
                   "group_size": QUANT_GROUP, "zero_point": True,
                   "version": "gemm"}),
}


def dequantized_model(base, quantized, dequantize):
    """A copy of `base` whose quantized linears hold the read-back weights."""
    model = copy.deepcopy(base).float().eval()
    with torch.no_grad():
        for prefix in quant_prefixes(model.config.num_hidden_layers):
            lin = model.get_submodule(prefix)
            N, K = lin.weight.shape
            t = {k[len(prefix) + 1:]: v for k, v in quantized.items()
                 if k.startswith(prefix + ".")}
            lin.weight.copy_(torch.from_numpy(dequantize(t, K, N).T.copy()))
    return model


def write_quantized(out, name, base_dir, base_model):
    quantize, dequantize, qconfig = QUANT[name]
    folder = fresh_dir(out, name)
    base = load_numpy(os.path.join(base_dir, "model.safetensors"))
    prefixes = quant_prefixes(base_model.config.num_hidden_layers)
    tensors = {}
    for key, value in base.items():
        prefix = key[:-len(".weight")] if key.endswith(".weight") else None
        if prefix in prefixes:
            for suffix, packed in quantize(value).items():
                tensors[prefix + "." + suffix] = packed
        else:
            tensors[key] = value                      # embeddings, norms, lm_head
    per_layer = 3 if qconfig["quant_method"] == "awq" else 4
    assert len(tensors) == len(base) + len(prefixes) * (per_layer - 1)
    # safetensors.numpy.save_file writes an array's memory as it lies: a
    # Fortran-ordered array (e.g. a reduction over a transposed weight) would
    # be stored transposed without an error. Hand it C-ordered arrays only.
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    save_numpy(tensors, os.path.join(folder, "model.safetensors"),
               metadata={"format": "pt"})
    with open(os.path.join(base_dir, "config.json")) as f:
        config = json.load(f)
    config["quantization_config"] = qconfig
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")
    shutil.copy(os.path.join(base_dir, "generation_config.json"), folder)
    model = dequantized_model(base_model, tensors, dequantize)
    save_npz(os.path.join(folder, "reference.npz"), reference(model, "decoder"))


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def fresh_dir(out, name):
    path = os.path.join(out, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def ablations(name, model):
    """max |logits - logits with one feature off| for each of ABLATIONS[name]."""
    if name not in ABLATIONS:
        return {}
    ref = decoder_reference(model)
    cls = MODELS[name][0]
    rows = {}
    for what, make_config in ABLATIONS.get(name, {}).items():
        torch.manual_seed(0)
        other = cls(make_config())
        other.load_state_dict(model.state_dict())
        got = decoder_reference(eager(other))
        diff = max(float(np.abs(got[k] - ref[k]).max())
                   for k in ("logits", "next_logits"))
        scale = max(float(np.abs(ref[k]).max()) for k in ("logits", "next_logits"))
        rows[what] = (diff, scale)
        print("ablate %-12s %-52s max |d logits| %.4g (max |logit| %.3g)"
              % (name, what, diff, scale))
        assert diff > ABLATION_MIN, (name, what, diff)
    return rows


def generate(out, only=None):
    for name, (_, _, _, dtype, kind) in MODELS.items():
        if only and name not in only:
            continue
        folder = fresh_dir(out, name)
        save_pretrained(build(name).to(dtype), folder)
        # The reference uses the saved values (fp16-rounded for
        # llama_tied_fp16), computed in float32. Round the parameters only:
        # model.to(float16) would also round buffers such as RoPE's
        # inv_freq, which from_pretrained recomputes in float32.
        model = build(name)
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(dtype).float())
        save_npz(os.path.join(folder, "reference.npz"), reference(model, kind))
        ablations(name, model)
        if name == "llama":                   # and the quantized llamas
            for qname in QUANT:
                write_quantized(out, qname, folder, model)


def compare(name, ref, got):
    worst = 0.0
    assert sorted(ref) == sorted(got), (name, sorted(ref), sorted(got))
    for key in ref:
        a, b = ref[key], got[key]
        assert a.shape == b.shape and a.dtype == b.dtype, (name, key, a.shape, b.shape)
        worst = max(worst, float(np.abs(a.astype(np.float64) - b).max()) if a.size else 0.0)
    return worst


def verify(out, only=None):
    """Loads every folder back and recomputes its reference."""
    results = {}
    for name, (cls, _, _, dtype, kind) in MODELS.items():
        if only and name not in only:
            continue
        folder = os.path.join(out, name)
        ref = dict(np.load(os.path.join(folder, "reference.npz")))
        for attn in (ATTN, "sdpa"):
            try:
                model = cls.from_pretrained(folder, dtype=torch.float32,
                                            attn_implementation=attn)
            except ValueError:
                # Gemma2 has no sdpa path (its attention softcap needs
                # the eager scores).
                assert attn == "sdpa" and name == "gemma2", (name, attn)
                continue
            assert model.config.architectures == [cls.__name__]
            results["%s (%s)" % (name, attn)] = compare(name, ref, reference(model, kind))
    base = LlamaForCausalLM.from_pretrained(os.path.join(out, "llama"),
                                            dtype=torch.float32,
                                            attn_implementation=ATTN)
    llama_tensors = load_numpy(os.path.join(out, "llama", "model.safetensors"))
    for qname, (_, dequantize, qconfig) in QUANT.items():
        if only and qname not in only:
            continue
        folder = os.path.join(out, qname)
        tensors = load_numpy(os.path.join(folder, "model.safetensors"))
        for key, value in tensors.items():
            if key in llama_tensors:
                assert np.array_equal(value, llama_tensors[key]), key
        with open(os.path.join(folder, "config.json")) as f:
            assert json.load(f)["quantization_config"] == qconfig
        ref = dict(np.load(os.path.join(folder, "reference.npz")))
        model = dequantized_model(base, tensors, dequantize)
        results[qname + " (dequantized from file)"] = compare(qname, ref, reference(model, "decoder"))
    for what, worst in results.items():
        print("verify %-36s max |diff| %.3g" % (what, worst))
    return results


def tree_digest(out):
    rows = []
    for root, _, files in sorted(os.walk(out)):
        for f in sorted(files):
            if f.endswith(".py") or f.endswith(".md"):
                continue
            path = os.path.join(root, f)
            with open(path, "rb") as fh:
                rows.append((os.path.relpath(path, out), os.path.getsize(path),
                             hashlib.sha256(fh.read()).hexdigest()))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=HERE, help="where the folders go (default: next to this script)")
    parser.add_argument("--verify-only", action="store_true")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        choices=sorted(list(MODELS) + list(QUANT)),
                        help="only these folders (llama also rewrites "
                        "llama_gptq and llama_awq)")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    if not args.verify_only:
        generate(args.out, args.only)
    verify(args.out, args.only)
    for path, size, digest in tree_digest(args.out):
        if args.only and path.split(os.sep)[0] not in args.only:
            continue
        if not args.verify_only:
            os.chmod(os.path.join(args.out, path), 0o644)
        print("%-40s %8d  %s" % (path, size, digest[:16]))
    print("torch %s, transformers %s, numpy %s" % (torch.__version__, transformers.__version__, np.__version__))


if __name__ == "__main__":
    main()
