#!/usr/bin/env python3
"""Writes fixtures/blocks.bin, the reference data of BlockFormatsTest.cpp.

    python3 test/unittests/frontends/gguf/gen_blocks.py

Needs numpy and gguf (gguf-py, llama.cpp's Python package). For every type
qtc reads, a few cases of raw GGML blocks and what
`gguf.quants.dequantize` makes of them, as float32:

  random      random bytes, the f16 scale fields (d, and m / dmin where the
              type has one) overwritten with finite values: random normal
              times a random power of ten, and blocks with the extremes
              (65504, -65504, the smallest subnormal 2^-24, the largest
              subnormal, the smallest normal, 0, -0);
  allones     every byte but the f16 fields set (all-ones codes, and
              all-ones integer scale fields);
  zeros       every byte but the f16 fields clear;
  nonfinite   one f16 field per block set to +-inf or a NaN (quiet, and
              signalling with a payload); the C++ test compares NaNs by bit
              pattern where the machine is x86-64 (the NaN an inf * 0 makes
              is the hardware's default NaN: 0xffc00000 on x86);
  quantized   blocks made by `gguf.quants.quantize` from random normal data,
              for the types gguf-py can quantize (Q4_0, Q4_1, Q5_0, Q5_1,
              Q8_0, BF16);

and for F16 / BF16 / F32 random bit patterns (NaNs and infinities
included: converting them is pure bit manipulation).

File format (all little-endian):
  b"QTCGGUFB", u32 version (1), u32 number of cases; then per case:
  u32 type id, u32 number of blocks, u32 byte count, u32 float count,
  u32 name length, the name (UTF-8, e.g. "Q4_K/random"), the raw blocks,
  the float32 values.

Seeded: re-running reproduces the file byte for byte (for a given gguf-py
and numpy).
"""

import os
import struct

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "blocks.bin")

# Byte offsets of each packed type's f16 fields: (d offsets, m/dmin offsets).
F16_FIELDS = {
    T.Q4_0: ([0], []),
    T.Q4_1: ([0], [2]),
    T.Q5_0: ([0], []),
    T.Q5_1: ([0], [2]),
    T.Q8_0: ([0], []),
    T.Q2_K: ([80], [82]),
    T.Q3_K: ([108], []),
    T.Q4_K: ([0], [2]),
    T.Q5_K: ([0], [2]),
    T.Q6_K: ([208], []),
    T.IQ4_NL: ([0], []),
    T.IQ4_XS: ([0], []),
}
QUANTIZABLE = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]

# f16 bit patterns of the extreme finite values.
EXTREMES = [0x7BFF, 0xFBFF, 0x0001, 0x8001, 0x03FF, 0x0400, 0x0000, 0x8000]
# +inf, -inf, quiet NaN, signalling NaN with a payload, negative NaN.
NONFINITE = [0x7C00, 0xFC00, 0x7E00, 0x7D01, 0xFE55]

rng = np.random.default_rng(20240611)


def random_half():
    """A finite f16 bit pattern: normal * 10^U(-4, 1)."""
    v = np.float16(rng.standard_normal() * 10.0 ** rng.uniform(-4, 1))
    return int(np.array([v], dtype=np.float16).view(np.uint16)[0])


def set_half(block, offset, bits):
    block[offset] = bits & 0xFF
    block[offset + 1] = bits >> 8


def blocks_for(qtype, n, fill, halves):
    """n blocks whose non-f16 bytes come from fill(size) and whose f16
    fields are set by halves(block_index, field_kind, field_index)."""
    _, type_size = GGML_QUANT_SIZES[qtype]
    d_offs, m_offs = F16_FIELDS[qtype]
    out = np.empty((n, type_size), dtype=np.uint8)
    for b in range(n):
        out[b] = fill(type_size)
        for i, off in enumerate(d_offs):
            set_half(out[b], off, halves(b, "d", i))
        for i, off in enumerate(m_offs):
            set_half(out[b], off, halves(b, "m", i))
    return out


def random_bytes(size):
    return rng.integers(0, 256, size=size, dtype=np.uint8)


def packed_cases(qtype, n_random):
    name = qtype.name
    d_offs, m_offs = F16_FIELDS[qtype]
    cases = []

    # Random blocks; the first len(EXTREMES) use one extreme each for d
    # (and, shifted by one, for m), the rest random halves.
    def random_halves(b, kind, i):
        if b < len(EXTREMES):
            k = b if kind == "d" else (b + 1) % len(EXTREMES)
            return EXTREMES[k]
        return random_half()

    cases.append((f"{name}/random",
                  blocks_for(qtype, n_random, random_bytes, random_halves)))

    ones = lambda size: np.full(size, 0xFF, dtype=np.uint8)  # noqa: E731
    zeros = lambda size: np.zeros(size, dtype=np.uint8)  # noqa: E731
    cases.append((f"{name}/allones",
                  blocks_for(qtype, 3, ones,
                             lambda b, k, i: [0x3C00, 0xBA00, 0x7BFF][b])))
    cases.append((f"{name}/zeros",
                  blocks_for(qtype, 1, zeros, lambda b, k, i: 0xC500)))

    # One non-finite field per block, the other fields finite.
    specs = [("d", v) for v in NONFINITE]
    if m_offs:
        # All of them for the small blocks; inf, -NaN and the signalling
        # NaN for the 256-element ones (the fixture stays small).
        small = GGML_QUANT_SIZES[qtype][0] == 32
        specs += [("m", v) for v in NONFINITE
                  if small or v in (0x7C00, 0xFE55, 0x7D01)]

    def nonfinite_halves(b, kind, i):
        k, v = specs[b]
        return v if kind == k else random_half()

    cases.append((f"{name}/nonfinite",
                  blocks_for(qtype, len(specs), random_bytes,
                             nonfinite_halves)))

    if qtype in QUANTIZABLE:
        block_size, _ = GGML_QUANT_SIZES[qtype]
        data = rng.standard_normal((12, block_size)).astype(np.float32)
        data *= (10.0 ** rng.uniform(-3, 2, size=(12, 1))).astype(np.float32)
        data[0] = 0  # d == 0
        data[1, 5] = 40.0  # an outlier
        data[2] = np.abs(data[2])  # all positive
        q = quantize(data, qtype).astype(np.uint8).reshape(12, -1)
        cases.append((f"{name}/quantized", q))
    return cases


def plain_cases():
    cases = []
    f16 = rng.integers(0, 1 << 16, size=192, dtype=np.uint16)
    f16[:16] = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF,
                0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0x7DFF, 0xFE01,
                0x3C00, 0x3555]
    cases.append(("F16/random", T.F16, f16.view(np.uint8)))

    bf16 = rng.integers(0, 1 << 16, size=128, dtype=np.uint16)
    bf16[:8] = [0x0000, 0x8000, 0x0001, 0x7F7F, 0x7F80, 0xFF80, 0x7FC0,
                0x7F81]
    cases.append(("BF16/random", T.BF16, bf16.view(np.uint8)))
    data = rng.standard_normal(64).astype(np.float32) * np.float32(3.0)
    data[:4] = [np.inf, -np.inf, 1e-40, -3.4e38]
    cases.append(("BF16/quantized", T.BF16,
                  quantize(data, T.BF16).view(np.uint8).reshape(-1)))

    f32 = rng.integers(0, 1 << 32, size=48, dtype=np.uint32)
    f32[:4] = [0x7F800001, 0xFFC00000, 0x00000001, 0x80000000]
    cases.append(("F32/random", T.F32, f32.view(np.uint8)))
    return cases


def main():
    records = []
    for qtype in F16_FIELDS:
        block_size, _ = GGML_QUANT_SIZES[qtype]
        n_random = 24 if block_size == 32 else 10
        for name, blocks in packed_cases(qtype, n_random):
            records.append((name, qtype, blocks.reshape(-1),
                            dequantize(blocks, qtype)))
    for name, qtype, raw in plain_cases():
        records.append((name, qtype, raw, dequantize(raw, qtype)))

    out = bytearray(b"QTCGGUFB")
    out += struct.pack("<II", 1, len(records))
    for name, qtype, raw, values in records:
        block_size, type_size = GGML_QUANT_SIZES[qtype]
        raw = np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1)
        values = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
        assert raw.size % type_size == 0
        n_blocks = raw.size // type_size
        assert values.size == n_blocks * block_size, name
        encoded = name.encode()
        out += struct.pack("<IIIII", int(qtype), n_blocks, raw.size,
                           values.size, len(encoded))
        out += encoded
        out += raw.tobytes()
        out += values.astype("<f4").tobytes()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        f.write(out)
    print(f"wrote {OUT}: {len(records)} cases, {len(out)} bytes")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
