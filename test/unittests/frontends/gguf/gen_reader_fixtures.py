#!/usr/bin/env python3
"""Writes the GGUF reader fixtures of GgufReaderTest.cpp.

    python3 test/unittests/frontends/gguf/gen_reader_fixtures.py

Needs numpy and gguf (gguf-py, llama.cpp's Python package). Writes, under
fixtures/, small GGUF files with `gguf.GGUFWriter`, and next to each a JSON
of what `gguf.GGUFReader` reads back from it:

  reader-all-types.gguf   v3, `general.alignment` = 64; metadata of every
                          value type (uint8 ... float64 at their extremes,
                          -0.0 / inf / NaN floats, bools, strings: empty,
                          non-ASCII UTF-8, an embedded NUL), arrays of each
                          scalar type, of strings (empty and non-ASCII ones
                          included), arrays of arrays (of int32, of strings,
                          three levels deep); tensors of types F32, F16,
                          Q8_0 and Q4_0 (made by `gguf.quants.quantize`)
                          with 1-D, 2-D and 3-D shapes.
  reader-no-tensors.gguf  v3, metadata only (a tokenizer-like string array).
  reader-v2.gguf          GGUF v2 with the default alignment (32) and a few
                          tensors. GGUFWriter only writes v3, so this is a
                          v3 file with its version field patched to 2: for
                          little-endian files v2 and v3 have the same layout
                          (v3 only added big-endian files). GGUFReader reads
                          it back as version 2.

JSON, per file:
  version, alignment, data_offset (absolute start of the tensor data),
  header_end (end of the last tensor info, or of the last key/value when
  there is none: every prefix at least this long, and covering all tensor
  data, is a complete file), file_size, tensor_count, kv_count;
  metadata: list, in file order, of {"key", "value"} where a value is
    {"type": id, "type_name", ...}:
      integers: "value" (an exact JSON integer);
      float32 / float64: "bits" (the IEEE bit pattern as an integer) and
        "value" (null when not finite);
      bool: "value" (true / false);
      string: "hex" (its UTF-8 bytes) and "value" (the decoded text);
      array: "elem_type", "count" and "items", a list of values (nested
        arrays as arrays).
    The values are rebuilt from GGUFReader's parsed parts (field.parts), the
    nested structure of arrays of arrays included (ReaderField.contents()
    flattens them);
  tensors: list, in file order, of {"name", "dims" (ggml order, innermost
    first), "type", "type_name", "n_elements", "n_bytes", "offset" (from the
    start of the data), "data_offset" (absolute), "sha256" of the bytes,
    "hex" of the bytes when at most 256}.

Seeded: re-running reproduces the files byte for byte (for a given gguf-py
and numpy).
"""

import hashlib
import json
import math
import os
import struct
import sys

import numpy as np

import gguf
from gguf import GGMLQuantizationType as QT
from gguf import GGUFValueType as VT

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")


def write(path, arch, alignment, kvs, tensors):
    """kvs: (key, value, vtype, sub_type); tensors: (name, array, raw_dtype)."""
    w = gguf.GGUFWriter(path, arch)
    if alignment is not None:
        w.add_custom_alignment(alignment)
    for key, value, vtype, sub_type in kvs:
        # add_key_value directly: add_string / add_array skip empty values.
        w.add_key_value(key, value, vtype, sub_type=sub_type)
    for name, array, raw_dtype in tensors:
        w.add_tensor(name, array, raw_dtype=raw_dtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def float_bits(x, nbytes):
    fmt = "<f" if nbytes == 4 else "<d"
    ifmt = "<I" if nbytes == 4 else "<Q"
    return struct.unpack(ifmt, struct.pack(fmt, x))[0]


def rebuild(parts, i, vtype):
    """The value of type `vtype` whose parts start at parts[i]: (json, next)."""
    vtype = VT(int(vtype))
    out = {"type": int(vtype), "type_name": vtype.name.lower()}
    if vtype == VT.STRING:
        data = bytes(parts[i + 1].tobytes())
        out["hex"] = data.hex()
        out["value"] = data.decode("utf-8")
        return out, i + 2
    if vtype == VT.ARRAY:
        etype = VT(int(parts[i][0]))
        count = int(parts[i + 1][0])
        out["elem_type"] = int(etype)
        out["count"] = count
        items = []
        j = i + 2
        for _ in range(count):
            item, j = rebuild(parts, j, etype)
            items.append(item)
        out["items"] = items
        return out, j
    arr = parts[i]
    assert arr.size == 1
    if vtype in (VT.FLOAT32, VT.FLOAT64):
        raw = arr.tobytes()
        out["bits"] = int.from_bytes(raw, "little")
        x = float(arr[0])
        out["value"] = x if math.isfinite(x) else None
    elif vtype == VT.BOOL:
        out["value"] = bool(arr[0])
    else:
        out["value"] = int(arr[0])
    return out, i + 1


def dump(path):
    r = gguf.GGUFReader(path)
    header_end = 0
    meta = []
    for name, field in r.fields.items():
        end = field.offset + sum(int(p.nbytes) for p in field.parts)
        header_end = max(header_end, end)
        if name.startswith("GGUF."):
            continue
        # parts: key length, key bytes, value type, then the value's parts.
        value, j = rebuild(field.parts, 3, field.parts[2][0])
        assert j == len(field.parts), name
        meta.append({"key": name, "value": value})
    tensors = []
    for t in r.tensors:
        f = t.field
        header_end = max(header_end,
                         f.offset + sum(int(p.nbytes) for p in f.parts))
        data = bytes(np.ascontiguousarray(t.data).tobytes())
        assert len(data) == t.n_bytes
        entry = {
            "name": t.name,
            "dims": [int(d) for d in t.shape],
            "type": int(t.tensor_type),
            "type_name": t.tensor_type.name,
            "n_elements": int(t.n_elements),
            "n_bytes": int(t.n_bytes),
            "offset": int(t.data_offset) - int(r.data_offset),
            "data_offset": int(t.data_offset),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        if len(data) <= 256:
            entry["hex"] = data.hex()
        tensors.append(entry)
    version = int(r.fields["GGUF.version"].parts[0][0])
    doc = {
        "version": version,
        "alignment": int(r.alignment),
        "data_offset": int(r.data_offset),
        "header_end": header_end,
        "file_size": os.path.getsize(path),
        "tensor_count": len(r.tensors),
        "kv_count": len(meta),
        "metadata": meta,
        "tensors": tensors,
    }
    with open(os.path.splitext(path)[0] + ".json", "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=True, allow_nan=False)
        f.write("\n")
    size = os.path.getsize(path)
    assert size < 20 * 1024, (path, size)
    print(f"{os.path.basename(path)}: {size} bytes, {len(meta)} keys, "
          f"{len(tensors)} tensors")


def all_types():
    rng = np.random.default_rng(1234)
    f32 = lambda v: float(np.float32(v))
    kvs = [
        ("test.uint8", 255, VT.UINT8, None),
        ("test.uint8.zero", 0, VT.UINT8, None),
        ("test.int8", -128, VT.INT8, None),
        ("test.uint16", 65535, VT.UINT16, None),
        ("test.int16", -32768, VT.INT16, None),
        ("test.uint32", 4294967295, VT.UINT32, None),
        ("test.int32", -2147483648, VT.INT32, None),
        ("test.uint64", 42, VT.UINT64, None),
        ("test.uint64.max", 2**64 - 1, VT.UINT64, None),
        ("test.uint64.int64max", 2**63 - 1, VT.UINT64, None),
        ("test.uint64.above", 2**63, VT.UINT64, None),
        ("test.int64", -(2**63), VT.INT64, None),
        ("test.int64.max", 2**63 - 1, VT.INT64, None),
        ("test.float32", f32(3.14159), VT.FLOAT32, None),
        ("test.float32.negzero", -0.0, VT.FLOAT32, None),
        ("test.float32.inf", float("inf"), VT.FLOAT32, None),
        ("test.float32.nan", float("nan"), VT.FLOAT32, None),
        ("test.float32.tiny", f32(1e-45), VT.FLOAT32, None),
        ("test.float64", 2.718281828459045, VT.FLOAT64, None),
        ("test.float64.small", 1e-300, VT.FLOAT64, None),
        ("test.float64.neginf", float("-inf"), VT.FLOAT64, None),
        ("test.bool.true", True, VT.BOOL, None),
        ("test.bool.false", False, VT.BOOL, None),
        ("test.string", "hello", VT.STRING, None),
        ("test.string.empty", "", VT.STRING, None),
        ("test.string.utf8", "h\u00e9llo w\u00f6rld \u2014 \u65e5\u672c\u8a9e "
         "\U0001f642", VT.STRING, None),
        ("test.string.nul", "a\x00b", VT.STRING, None),
        ("t\u00ebst.key.utf8", 7, VT.UINT32, None),
        ("test.array.uint8", [0, 1, 254, 255], VT.ARRAY, VT.UINT8),
        ("test.array.int8", [-128, -1, 0, 127], VT.ARRAY, VT.INT8),
        ("test.array.uint16", [0, 65535], VT.ARRAY, VT.UINT16),
        ("test.array.int16", [-32768, 32767, 5], VT.ARRAY, VT.INT16),
        ("test.array.uint32", [0, 4294967295, 7], VT.ARRAY, VT.UINT32),
        ("test.array.int32", [1, -2, 3, -4, 2147483647], VT.ARRAY, None),
        ("test.array.uint64", [0, 2**63 - 1, 12], VT.ARRAY, VT.UINT64),
        ("test.array.uint64.big", [1, 2**64 - 1], VT.ARRAY, VT.UINT64),
        ("test.array.int64", [-(2**63), 2**63 - 1, 0], VT.ARRAY, VT.INT64),
        ("test.array.float32", [0.5, -1.25, f32(0.1), f32(1e30)], VT.ARRAY,
         None),
        ("test.array.float64", [0.1, -2.5e-310, 1e300], VT.ARRAY, VT.FLOAT64),
        ("test.array.bool", [True, False, True], VT.ARRAY, None),
        ("test.array.string", ["a", "", "b\u00e9", "\u65e5\u672c", "last"],
         VT.ARRAY, None),
        ("test.array.array.int32", [[1, 2, 3], [4], [5, 6]], VT.ARRAY, None),
        ("test.array.array.string", [["x", "y"], [""]], VT.ARRAY, None),
        ("test.array.array.array", [[[1, 2], [3]], [[4]]], VT.ARRAY, None),
        ("test.array.uint8.long", [int(x) for x in rng.integers(0, 256, 100)],
         VT.ARRAY, VT.UINT8),
    ]
    tensors = [
        # 1-D F32, 2-D F32, 3-D F32.
        ("t.f32.1d", rng.standard_normal(5).astype(np.float32), None),
        ("t.f32.2d", rng.standard_normal((3, 4)).astype(np.float32), None),
        ("t.f32.3d", rng.standard_normal((2, 3, 4)).astype(np.float32), None),
        # F16, 1-D and 2-D.
        ("t.f16.1d", rng.standard_normal(7).astype(np.float16), None),
        ("t.f16.2d", rng.standard_normal((2, 9)).astype(np.float16), None),
        # Q8_0: 1-D and 2-D; Q4_0: 2-D and 3-D. Shapes are numpy order
        # (outermost first); the file stores them innermost first.
        ("blk.0.q8_0.1d",
         gguf.quants.quantize(rng.standard_normal(64).astype(np.float32),
                              QT.Q8_0), QT.Q8_0),
        ("blk.0.q8_0.2d",
         gguf.quants.quantize(rng.standard_normal((3, 64)).astype(np.float32),
                              QT.Q8_0), QT.Q8_0),
        ("blk.0.q4_0.2d",
         gguf.quants.quantize(rng.standard_normal((4, 32)).astype(np.float32),
                              QT.Q4_0), QT.Q4_0),
        ("blk.0.q4_0.3d",
         gguf.quants.quantize(
             rng.standard_normal((2, 3, 64)).astype(np.float32), QT.Q4_0),
         QT.Q4_0),
        ("t.\u00fcnicode.name", np.arange(3, dtype=np.float32), None),
    ]
    return kvs, tensors


def main():
    os.makedirs(OUT, exist_ok=True)

    kvs, tensors = all_types()
    path = os.path.join(OUT, "reader-all-types.gguf")
    write(path, "qtc-test", 64, kvs, tensors)
    dump(path)

    vocab = ["<unk>", "<s>", "</s>", "\u2581the", "\u2581a", "\u00e9t\u00e9",
             "\u65e5", "\n", ""]
    kvs = [
        ("tokenizer.ggml.model", "llama", VT.STRING, None),
        ("tokenizer.ggml.tokens", vocab, VT.ARRAY, None),
        ("tokenizer.ggml.scores", [float(-i) for i in range(len(vocab))],
         VT.ARRAY, None),
        ("tokenizer.ggml.token_type", [1, 3, 3] + [1] * (len(vocab) - 3),
         VT.ARRAY, None),
        ("tokenizer.ggml.bos_token_id", 1, VT.UINT32, None),
        ("general.file_type", 1, VT.UINT32, None),
    ]
    path = os.path.join(OUT, "reader-no-tensors.gguf")
    write(path, "llama", None, kvs, [])
    dump(path)

    rng = np.random.default_rng(99)
    kvs = [("llama.block_count", 1, VT.UINT32, None),
           ("llama.rope.freq_base", 10000.0, VT.FLOAT32, None)]
    tensors = [
        ("token_embd.weight", rng.standard_normal((4, 8)).astype(np.float32),
         None),
        ("output_norm.weight", np.ones(8, dtype=np.float32), None),
        ("blk.0.attn_q.weight",
         gguf.quants.quantize(rng.standard_normal((2, 32)).astype(np.float32),
                              QT.Q8_0), QT.Q8_0),
    ]
    path = os.path.join(OUT, "reader-v2.gguf")
    write(path, "llama", None, kvs, tensors)
    with open(path, "r+b") as f:
        f.seek(4)
        assert struct.unpack("<I", f.read(4))[0] == 3
        f.seek(4)
        f.write(struct.pack("<I", 2))
    dump(path)


if __name__ == "__main__":
    sys.exit(main())
