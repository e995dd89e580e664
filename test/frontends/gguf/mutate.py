#!/usr/bin/env python3
"""Writes broken variants of a GGUF fixture, each with gguf-py's own writer,
for the importer's bad-input checks (gguf_errors.mlir).

    mutate.py FIXTURE.gguf OUT_DIR

- extra_tensor.gguf: a Qwen3-style q-norm tensor the Llama builder does not
  use (a relabelled checkpoint: must fail, naming it).
- missing_tensor.gguf: blk.0.ffn_gate.weight left out.
- wrong_metadata.gguf: llama.feed_forward_length says 512, the tensors 256.
- falcon.gguf: general.architecture 'falcon' (one qtc does not build).
- truncated.gguf: the fixture cut in the middle of its tensor data.
"""
import os
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter

src, out = sys.argv[1:3]
os.makedirs(out, exist_ok=True)
reader = GGUFReader(src)


def copy(name, drop_tensor=None, extra_tensor=None, override=None):
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
        shape = [int(d) for d in reversed(t.shape)]
        w.add_tensor(t.name, np.asarray(t.data), raw_shape=np.asarray(t.data).shape,
                     raw_dtype=t.tensor_type)
    if extra_tensor:
        w.add_tensor(extra_tensor, np.ones(64, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


copy("extra_tensor.gguf", extra_tensor="blk.0.attn_q_norm.weight")
copy("missing_tensor.gguf", drop_tensor="blk.0.ffn_gate.weight")
copy("wrong_metadata.gguf", override={"llama.feed_forward_length": 512})
copy("falcon.gguf", override={"general.architecture": "falcon"})
data = open(src, "rb").read()
open(os.path.join(out, "truncated.gguf"), "wb").write(data[: len(data) * 2 // 3])
