#!/usr/bin/env python3
"""Writes broken variants of a GGUF fixture, each with gguf-py's own writer,
for the importer's bad-input checks (gguf_errors.mlir).

    mutate.py FIXTURE.gguf OUT_DIR

The variants depend on the fixture's general.architecture. A llama file
(fixtures/tiny-llama-*.gguf):

- extra_tensor.gguf: a Qwen3-style q-norm tensor the Llama builder does not
  use (a relabelled checkpoint: must fail, naming it).
- missing_tensor.gguf: blk.0.ffn_gate.weight left out.
- wrong_metadata.gguf: llama.feed_forward_length says 512, the tensors 256.
- falcon.gguf: general.architecture 'falcon' (one qtc does not build).
- truncated.gguf: the fixture cut in the middle of its tensor data.

families/gpt2.gguf:

- gpt2_missing_tensor.gguf: blk.1.attn_qkv.bias left out.
- gpt2_wrong_shape.gguf: position_embd.weight with 32 rows where
  gpt2.context_length says 64.

families/bert.gguf:

- bert_missing_tensor.gguf: blk.0.attn_k.weight left out.
- bert_wrong_shape.gguf: blk.1.ffn_up.weight with 96 rows where
  bert.feed_forward_length says 128.
- bert_classifier.gguf: a classifier head (cls.weight, cls.bias, as
  llama.cpp's converter writes for BertForSequenceClassification), which
  the last hidden state does not use: an error, not dropped silently.
- bert_causal.gguf: bert.attention.causal true (qtc's BERT attends both
  ways).
"""
import os
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter

src, out = sys.argv[1:3]
os.makedirs(out, exist_ok=True)
reader = GGUFReader(src)


def copy(name, drop_tensor=None, extra_tensor=None, override=None,
         replace=None, extra=None):
    override = override or {}
    arch = override.get("general.architecture",
                        bytes(reader.fields["general.architecture"].parts[-1]).decode())
    w = GGUFWriter(os.path.join(out, name), arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        vtype = field.types[0]
        if key in override:
            value = override[key]
        elif vtype == GGUFValueType.ARRAY:
            sub = field.types[1]
            if sub == GGUFValueType.STRING:
                value = [bytes(field.parts[i]).decode("utf-8", "surrogateescape") for i in field.data]
            else:
                value = [field.parts[i].tolist()[0] for i in field.data]
            w.add_array(key, value)
            continue
        elif vtype == GGUFValueType.STRING:
            value = bytes(field.parts[-1]).decode()
        else:
            value = field.parts[-1].tolist()[0]
        w.add_key_value(key, value, vtype)
    for t in reader.tensors:
        if t.name == drop_tensor:
            continue
        if replace and t.name in replace:
            w.add_tensor(t.name, replace[t.name])
            continue
        w.add_tensor(t.name, np.asarray(t.data), raw_shape=np.asarray(t.data).shape,
                     raw_dtype=t.tensor_type)
    if extra_tensor:
        w.add_tensor(extra_tensor, np.ones(64, np.float32))
    for tname, value in (extra or {}).items():
        w.add_tensor(tname, value)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()


def rows(name, n):
    """Tensor `name`'s first n rows (row-major), as F32."""
    t = next(t for t in reader.tensors if t.name == name)
    data = np.asarray(t.data).reshape([int(d) for d in reversed(t.shape)])
    return np.ascontiguousarray(data[:n], dtype=np.float32)


if arch == "gpt2":
    copy("gpt2_missing_tensor.gguf", drop_tensor="blk.1.attn_qkv.bias")
    copy("gpt2_wrong_shape.gguf",
         replace={"position_embd.weight": rows("position_embd.weight", 32)})
elif arch == "bert":
    copy("bert_missing_tensor.gguf", drop_tensor="blk.0.attn_k.weight")
    copy("bert_wrong_shape.gguf",
         replace={"blk.1.ffn_up.weight": rows("blk.1.ffn_up.weight", 96)})
    copy("bert_classifier.gguf",
         extra={"cls.weight": np.zeros((64, 64), np.float32),
                "cls.bias": np.zeros(64, np.float32)})
    copy("bert_causal.gguf", override={"bert.attention.causal": True})
else:
    copy("extra_tensor.gguf", extra_tensor="blk.0.attn_q_norm.weight")
    copy("missing_tensor.gguf", drop_tensor="blk.0.ffn_gate.weight")
    copy("wrong_metadata.gguf", override={"llama.feed_forward_length": 512})
    copy("falcon.gguf", override={"general.architecture": "falcon"})
    data = open(src, "rb").read()
    open(os.path.join(out, "truncated.gguf"), "wb").write(data[: len(data) * 2 // 3])
