//===- BlockFormats.cpp - GGML block layouts, dequantizer, repacker -------===//
//
// Every packed type is read in two steps: `unpackBlock` turns one block into
// its unsigned codes (one byte per element, in element order) and the real
// parameters of each of its groups, computed exactly as gguf-py computes
// them (all in f32: gguf-py widens every f16 field to f32 before any
// arithmetic, so no product is rounded to f16). `dequantize` then applies
// gguf-py's final expression with the same operand order; `repack` moves
// the same codes and parameters into the canonical layout.
//
// Bit-exactness notes (see BlockFormats.h):
//  - Every product here is exact in f32: a sub-block scale times a code or
//    grid value has at most 12 significant bits (Q6_K: 127 * 31, IQ4_XS:
//    31 * 127), so with the f16 mantissa's 11 it fits f32's 24, and no
//    product of finite operands overflows or leaves f32's normal range
//    (|d| >= 2^-24). Only Q4_1 / Q5_1's `+ m` and the K-quants' `- m` round,
//    once, as in gguf-py.
//  - f32 multiplication is commutative, including signed zeros; only the
//    payload of a NaN could depend on operand order, and no product here
//    has two NaN operands (the code side is always an exact small integer).
//  - `d*q - m` (Q2_K, Q4_K, Q5_K) becomes `q*scale + min` with min = -m,
//    which IEEE defines as the same operation. Where m is a NaN, min keeps
//    m's sign instead, so that the NaN the addition propagates carries the
//    same sign bit as the one the subtraction propagates.
//  - Since the products are exact, a fused multiply-add would give the same
//    results; frontends/gguf/CMakeLists.txt still passes -ffp-contract=off so
//    that this does not have to be re-argued when a format is added.
//
//===----------------------------------------------------------------------===//

#include "frontends/gguf/BlockFormats.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/Parallel.h"

#include <cassert>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>

using namespace qtc::gguf;

namespace {

//===----------------------------------------------------------------------===//
// Type table
//===----------------------------------------------------------------------===//

struct TableEntry {
  uint32_t id;
  TypeTraits traits;
};

// ggml's type_traits (ggml.c): block size and sizeof(block_*). Ids 4, 5
// (Q4_2, Q4_3) and 31-33, 36-38 (the removed interleaved Q4_0/IQ4_NL
// variants) are no longer defined.
constexpr TableEntry kTable[] = {
    {0, {"F32", 1, 4, true}},
    {1, {"F16", 1, 2, true}},
    {2, {"Q4_0", 32, 18, true}},
    {3, {"Q4_1", 32, 20, true}},
    {6, {"Q5_0", 32, 22, true}},
    {7, {"Q5_1", 32, 24, true}},
    {8, {"Q8_0", 32, 34, true}},
    // Two f16 (d, s) + 32 int8 in ggml; gguf-py's table still says 40 (from
    // when d and s were f32).
    {9, {"Q8_1", 32, 36, false}},
    {10, {"Q2_K", 256, 84, true}},
    {11, {"Q3_K", 256, 110, true}},
    {12, {"Q4_K", 256, 144, true}},
    {13, {"Q5_K", 256, 176, true}},
    {14, {"Q6_K", 256, 210, true}},
    {15, {"Q8_K", 256, 292, false}},
    {16, {"IQ2_XXS", 256, 66, false}},
    {17, {"IQ2_XS", 256, 74, false}},
    {18, {"IQ3_XXS", 256, 98, false}},
    {19, {"IQ1_S", 256, 50, false}},
    {20, {"IQ4_NL", 32, 18, true}},
    {21, {"IQ3_S", 256, 110, false}},
    {22, {"IQ2_S", 256, 82, false}},
    {23, {"IQ4_XS", 256, 136, true}},
    {24, {"I8", 1, 1, false}},
    {25, {"I16", 1, 2, false}},
    {26, {"I32", 1, 4, false}},
    {27, {"I64", 1, 8, false}},
    {28, {"F64", 1, 8, false}},
    {29, {"IQ1_M", 256, 56, false}},
    {30, {"BF16", 1, 2, true}},
    {34, {"TQ1_0", 256, 54, false}},
    {35, {"TQ2_0", 256, 66, false}},
    {39, {"MXFP4", 32, 17, false}},
    // Newer than GGMLType's list; known so that their errors name them.
    {40, {"NVFP4", 64, 36, false}},
    {41, {"Q1_0", 128, 18, false}},
};

constexpr const char *kSupportedList =
    "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, "
    "Q6_K, IQ4_NL, IQ4_XS";

llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(message);
}

/// The traits of a type qtc reads, or an error naming the type.
llvm::Expected<const TypeTraits *> supportedTraits(uint32_t type) {
  const TypeTraits *traits = typeTraits(type);
  if (!traits)
    return error("unknown GGML tensor type id " + llvm::Twine(type));
  if (!traits->supported)
    return error("tensor type " + traits->name + " is not supported " +
                 "(supported: " + kSupportedList + ")");
  return traits;
}

//===----------------------------------------------------------------------===//
// Scalar helpers
//===----------------------------------------------------------------------===//

uint16_t le16(const uint8_t *p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t *p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) |
         (uint32_t(p[3]) << 24);
}
void putLE16(uint8_t *p, uint16_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}
void putLE32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = uint8_t(v >> (8 * i));
}

float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}
uint32_t floatToBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

/// IEEE binary16 -> binary32, exact. Subnormal halves become normal floats;
/// infinities stay infinities; NaNs keep sign and payload (shifted into the
/// top of the f32 mantissa, not quieted), as numpy's astype does.
float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  if (exponent == 0x1f)
    return bitsToFloat(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    if (mantissa == 0)
      return bitsToFloat(sign);
    // 0.mantissa * 2^-14: shift the leading one into the implicit bit.
    uint32_t e = 127 - 15 + 1;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      --e;
    }
    return bitsToFloat(sign | (e << 23) | ((mantissa & 0x3ff) << 13));
  }
  return bitsToFloat(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

//===----------------------------------------------------------------------===//
// Block formats
//===----------------------------------------------------------------------===//

/// IQ4_NL's grid (ggml's kvalues_iq4nl), shared by IQ4_XS.
constexpr int8_t kIQ4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                   1,    13,   25,  38,  53,  69,  89,  113};

/// How gguf-py turns a code and its group's (d, m) into a value.
enum class Formula {
  /// d * float(code - zp)      (zp = 0 and signed codes for Q8_0)
  ScaleCentered,
  /// d * float(code) + m
  AddMin,
  /// d * float(code) - m
  SubMin,
  /// d * float(kIQ4Values[code])
  Levels,
};

/// The real parameters of one group, in f32, plus the raw f16 fields for
/// the formats whose group scale (and min) is a stored f16.
struct Group {
  float d = 0, m = 0;
  uint16_t dHalf = 0, mHalf = 0;
};

using UnpackFn = void (*)(const uint8_t *block, uint8_t *codes, Group *groups);

struct Format {
  GGMLType type;
  unsigned bits;
  bool signedCodes;
  int64_t groupSize;
  /// Group scales are computed in f32 (else they are the block's f16 d).
  bool f32Scales;
  Formula formula;
  UnpackFn unpack;

  int64_t zeroPoint() const {
    if (signedCodes || formula == Formula::AddMin ||
        formula == Formula::SubMin || formula == Formula::Levels)
      return 0;
    return int64_t(1) << (bits - 1);
  }
};

Group halfGroup(uint16_t d) {
  Group g;
  g.dHalf = d;
  g.d = halfToFloat(d);
  return g;
}

/// Codes j and j + 16 of a 32-element block share byte j (low, high nibble).
void nibbles32(const uint8_t *qs, uint8_t *codes) {
  for (int j = 0; j < 16; ++j) {
    codes[j] = qs[j] & 0x0f;
    codes[j + 16] = qs[j] >> 4;
  }
}

// Q4_0: f16 d | 16 bytes of nibbles.
void unpackQ4_0(const uint8_t *b, uint8_t *codes, Group *groups) {
  groups[0] = halfGroup(le16(b));
  nibbles32(b + 2, codes);
}

// Q4_1: f16 d | f16 m | 16 bytes of nibbles.
void unpackQ4_1(const uint8_t *b, uint8_t *codes, Group *groups) {
  groups[0] = halfGroup(le16(b));
  groups[0].mHalf = le16(b + 2);
  groups[0].m = halfToFloat(groups[0].mHalf);
  nibbles32(b + 4, codes);
}

/// Adds bit j of the little-endian word `qh` as bit 4 of code j.
void highBits32(uint32_t qh, uint8_t *codes) {
  for (int j = 0; j < 32; ++j)
    codes[j] |= uint8_t(((qh >> j) & 1) << 4);
}

// Q5_0: f16 d | u32 high bits | 16 bytes of nibbles.
void unpackQ5_0(const uint8_t *b, uint8_t *codes, Group *groups) {
  groups[0] = halfGroup(le16(b));
  nibbles32(b + 6, codes);
  highBits32(le32(b + 2), codes);
}

// Q5_1: f16 d | f16 m | u32 high bits | 16 bytes of nibbles.
void unpackQ5_1(const uint8_t *b, uint8_t *codes, Group *groups) {
  groups[0] = halfGroup(le16(b));
  groups[0].mHalf = le16(b + 2);
  groups[0].m = halfToFloat(groups[0].mHalf);
  nibbles32(b + 8, codes);
  highBits32(le32(b + 4), codes);
}

// Q8_0: f16 d | 32 int8 (kept as their two's complement bytes).
void unpackQ8_0(const uint8_t *b, uint8_t *codes, Group *groups) {
  groups[0] = halfGroup(le16(b));
  std::memcpy(codes, b + 2, 32);
}

// Q2_K: 16 bytes of (min << 4 | scale) | 64 bytes of 2-bit codes | f16 d |
// f16 dmin. Element 128 h + 32 s + l is bits 2s..2s+1 of byte 32 h + l.
void unpackQ2_K(const uint8_t *b, uint8_t *codes, Group *groups) {
  const uint8_t *scales = b, *qs = b + 16;
  float d = halfToFloat(le16(b + 80)), dmin = halfToFloat(le16(b + 82));
  for (int g = 0; g < 16; ++g) {
    groups[g].d = d * float(scales[g] & 0x0f);
    groups[g].m = dmin * float(scales[g] >> 4);
  }
  for (int i = 0; i < 256; ++i) {
    int h = i / 128, s = (i / 32) % 4, l = i % 32;
    codes[i] = (qs[32 * h + l] >> (2 * s)) & 3;
  }
}

// Q3_K: 32 bytes of high bits | 64 bytes of 2-bit low parts | 12 bytes of
// 6-bit scales | f16 d. The high bit of element i is bit i / 32 of byte
// i % 32; a set bit means no -4 offset, so code = low | high << 2 with zero
// point 4 gives gguf-py's low - 4 * (1 - high).
void unpackQ3_K(const uint8_t *b, uint8_t *codes, Group *groups) {
  const uint8_t *hmask = b, *qs = b + 32, *scales = b + 96;
  float d = halfToFloat(le16(b + 108));
  for (int k = 0; k < 16; ++k) {
    int low = (k < 8 ? scales[k] : scales[k - 8] >> 4) & 0x0f;
    int high = (scales[8 + k % 4] >> (2 * (k / 4))) & 3;
    groups[k].d = d * float((low | (high << 4)) - 32);
  }
  for (int i = 0; i < 256; ++i) {
    int h = i / 128, s = (i / 32) % 4, l = i % 32;
    int low = (qs[32 * h + l] >> (2 * s)) & 3;
    int high = (hmask[l] >> (i / 32)) & 1;
    codes[i] = uint8_t(low | (high << 2));
  }
}

/// The 6-bit scales and mins of the 8 sub-blocks of Q4_K / Q5_K, from their
/// 12 bytes: bytes 0-3 hold scales 0-3 (low 6 bits) and the top 2 bits of
/// scales 4-7, bytes 4-7 the same for the mins, bytes 8-11 the low 4 bits of
/// scale (low nibble) and min (high nibble) 4-7.
void kScaleMins(const uint8_t *q, uint8_t *sc, uint8_t *mn) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = q[j] & 0x3f;
    mn[j] = q[4 + j] & 0x3f;
    sc[4 + j] = uint8_t((q[8 + j] & 0x0f) | ((q[j] >> 2) & 0x30));
    mn[4 + j] = uint8_t((q[8 + j] >> 4) | ((q[4 + j] >> 2) & 0x30));
  }
}

void kGroups(const uint8_t *b, Group *groups) {
  float d = halfToFloat(le16(b)), dmin = halfToFloat(le16(b + 2));
  uint8_t sc[8], mn[8];
  kScaleMins(b + 4, sc, mn);
  for (int g = 0; g < 8; ++g) {
    groups[g].d = d * float(sc[g]);
    groups[g].m = dmin * float(mn[g]);
  }
}

/// Element 64 c + 32 s + l of a Q4_K / Q5_K block is nibble s of byte
/// 32 c + l.
void kNibbles(const uint8_t *qs, uint8_t *codes) {
  for (int i = 0; i < 256; ++i) {
    int c = i / 64, s = (i / 32) % 2, l = i % 32;
    codes[i] = (qs[32 * c + l] >> (4 * s)) & 0x0f;
  }
}

// Q4_K: f16 d | f16 dmin | 12 bytes of scales and mins | 128 bytes of
// nibbles.
void unpackQ4_K(const uint8_t *b, uint8_t *codes, Group *groups) {
  kGroups(b, groups);
  kNibbles(b + 16, codes);
}

// Q5_K: as Q4_K with 32 bytes of high bits before the nibbles; the high bit
// of element i is bit i / 32 of byte i % 32.
void unpackQ5_K(const uint8_t *b, uint8_t *codes, Group *groups) {
  kGroups(b, groups);
  const uint8_t *qh = b + 16;
  kNibbles(b + 48, codes);
  for (int i = 0; i < 256; ++i)
    codes[i] |= uint8_t(((qh[i % 32] >> (i / 32)) & 1) << 4);
}

// Q6_K: 128 bytes of low nibbles | 64 bytes of 2-bit high parts | 16 int8
// scales | f16 d. In each half h of 128 elements, element 64 s + l takes
// nibble s of byte 64 h + l, and element 32 s + l bits 2s..2s+1 of byte
// 128 + 32 h + l.
void unpackQ6_K(const uint8_t *b, uint8_t *codes, Group *groups) {
  const uint8_t *ql = b, *qh = b + 128, *scales = b + 192;
  float d = halfToFloat(le16(b + 208));
  for (int g = 0; g < 16; ++g)
    groups[g].d = d * float(int8_t(scales[g]));
  for (int i = 0; i < 256; ++i) {
    int h = i / 128, r = i % 128;
    int low = (ql[64 * h + r % 64] >> (4 * (r / 64))) & 0x0f;
    int high = (qh[32 * h + r % 32] >> (2 * (r / 32))) & 3;
    codes[i] = uint8_t(low | (high << 4));
  }
}

// IQ4_NL: Q4_0's layout; codes index the grid.
void unpackIQ4_NL(const uint8_t *b, uint8_t *codes, Group *groups) {
  unpackQ4_0(b, codes, groups);
}

// IQ4_XS: f16 d | u16 high 2 bits of the 8 scales | 4 bytes of their low
// nibbles | 8 x 16 bytes of nibbles, element 16 s + l of sub-block g being
// nibble s of byte 16 g + l.
void unpackIQ4_XS(const uint8_t *b, uint8_t *codes, Group *groups) {
  float d = halfToFloat(le16(b));
  uint16_t scalesHigh = le16(b + 2);
  const uint8_t *scalesLow = b + 4, *qs = b + 8;
  for (int g = 0; g < 8; ++g) {
    int low = (scalesLow[g / 2] >> (4 * (g % 2))) & 0x0f;
    int high = (scalesHigh >> (2 * g)) & 3;
    groups[g].d = d * float((low | (high << 4)) - 32);
    for (int i = 0; i < 32; ++i)
      codes[32 * g + i] = (qs[16 * g + i % 16] >> (4 * (i / 16))) & 0x0f;
  }
}

constexpr Format kFormats[] = {
    {GGMLType::Q4_0, 4, false, 32, false, Formula::ScaleCentered, unpackQ4_0},
    {GGMLType::Q4_1, 4, false, 32, false, Formula::AddMin, unpackQ4_1},
    {GGMLType::Q5_0, 5, false, 32, false, Formula::ScaleCentered, unpackQ5_0},
    {GGMLType::Q5_1, 5, false, 32, false, Formula::AddMin, unpackQ5_1},
    {GGMLType::Q8_0, 8, true, 32, false, Formula::ScaleCentered, unpackQ8_0},
    {GGMLType::Q2_K, 2, false, 16, true, Formula::SubMin, unpackQ2_K},
    {GGMLType::Q3_K, 3, false, 16, true, Formula::ScaleCentered, unpackQ3_K},
    {GGMLType::Q4_K, 4, false, 32, true, Formula::SubMin, unpackQ4_K},
    {GGMLType::Q5_K, 5, false, 32, true, Formula::SubMin, unpackQ5_K},
    {GGMLType::Q6_K, 6, false, 16, true, Formula::ScaleCentered, unpackQ6_K},
    {GGMLType::IQ4_NL, 4, false, 32, false, Formula::Levels, unpackIQ4_NL},
    {GGMLType::IQ4_XS, 4, false, 32, true, Formula::Levels, unpackIQ4_XS},
};

const Format *packedFormat(uint32_t type) {
  for (const Format &format : kFormats)
    if (uint32_t(format.type) == type)
      return &format;
  return nullptr;
}

/// The real value of a code, as an f32 integer (exact).
float codeValue(const Format &format, uint8_t code) {
  if (format.signedCodes)
    return float(int8_t(code));
  return float(int(code) - int(format.zeroPoint()));
}

/// Decodes one block with gguf-py's expression for its type.
void dequantizeBlock(const Format &format, const uint8_t *block, float *out) {
  uint8_t codes[256];
  Group groups[16];
  format.unpack(block, codes, groups);
  int64_t blockSize = typeTraits(uint32_t(format.type))->blockSize;
  for (int64_t i = 0; i < blockSize; ++i) {
    const Group &g = groups[i / format.groupSize];
    switch (format.formula) {
    case Formula::ScaleCentered:
      out[i] = g.d * codeValue(format, codes[i]);
      break;
    case Formula::AddMin:
      out[i] = g.d * float(codes[i]) + g.m;
      break;
    case Formula::SubMin:
      out[i] = g.d * float(codes[i]) - g.m;
      break;
    case Formula::Levels:
      out[i] = g.d * float(kIQ4Values[codes[i]]);
      break;
    }
  }
}

/// Runs `fn(begin, end)` over [0, n) in chunks, in parallel when n is large.
template <typename Fn> void forChunks(int64_t n, int64_t chunk, Fn fn) {
  int64_t chunks = (n + chunk - 1) / chunk;
  auto body = [&](size_t c) {
    int64_t begin = int64_t(c) * chunk;
    fn(begin, std::min(n, begin + chunk));
  };
  if (chunks <= 1) {
    for (int64_t c = 0; c < chunks; ++c)
      body(size_t(c));
    return;
  }
  llvm::parallelFor(0, size_t(chunks), body);
}

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

const TypeTraits *qtc::gguf::typeTraits(uint32_t type) {
  for (const TableEntry &entry : kTable)
    if (entry.id == type)
      return &entry.traits;
  return nullptr;
}

llvm::Expected<int64_t> qtc::gguf::rowBytes(uint32_t type, int64_t elements) {
  const TypeTraits *traits = typeTraits(type);
  if (!traits)
    return error("unknown GGML tensor type id " + llvm::Twine(type));
  if (elements < 0 || elements % traits->blockSize != 0)
    return error("a row of " + llvm::Twine(elements) + " " + traits->name +
                 " elements is not a whole number of blocks of " +
                 llvm::Twine(traits->blockSize));
  std::optional<int64_t> bytes =
      llvm::checkedMul(elements / traits->blockSize, traits->typeSize);
  if (!bytes)
    return error("a row of " + llvm::Twine(elements) + " " + traits->name +
                 " elements is too large");
  return *bytes;
}

llvm::Error qtc::gguf::dequantize(uint32_t type, llvm::ArrayRef<uint8_t> src,
                                  llvm::MutableArrayRef<float> dst) {
  auto traits = supportedTraits(type);
  if (!traits)
    return traits.takeError();
  int64_t blockSize = (*traits)->blockSize, typeSize = (*traits)->typeSize;
  if (src.size() % uint64_t(typeSize) != 0)
    return error("cannot dequantize " + llvm::Twine(src.size()) +
                 " bytes of " + (*traits)->name + ": not a whole number of " +
                 llvm::Twine(typeSize) + "-byte blocks");
  int64_t blocks = int64_t(src.size()) / typeSize;
  // blocks * blockSize is at most 4 * src.size(): no overflow.
  if (uint64_t(blocks) * uint64_t(blockSize) != dst.size())
    return error("cannot dequantize " + llvm::Twine(blocks) + " " +
                 (*traits)->name + " blocks (" +
                 llvm::Twine(blocks * blockSize) + " values) into " +
                 llvm::Twine(dst.size()) + " floats");

  const uint8_t *in = src.data();
  float *out = dst.data();
  switch (GGMLType(type)) {
  case GGMLType::F32:
    for (int64_t i = 0; i < blocks; ++i)
      out[i] = bitsToFloat(le32(in + 4 * i));
    return llvm::Error::success();
  case GGMLType::F16:
    for (int64_t i = 0; i < blocks; ++i)
      out[i] = halfToFloat(le16(in + 2 * i));
    return llvm::Error::success();
  case GGMLType::BF16:
    for (int64_t i = 0; i < blocks; ++i)
      out[i] = bitsToFloat(uint32_t(le16(in + 2 * i)) << 16);
    return llvm::Error::success();
  default:
    break;
  }
  const Format *format = packedFormat(type);
  assert(format && "supported types are plain or packed");
  forChunks(blocks, 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      dequantizeBlock(*format, in + i * typeSize, out + i * blockSize);
  });
  return llvm::Error::success();
}

llvm::Expected<PackedMatrix> qtc::gguf::repack(uint32_t type,
                                               llvm::ArrayRef<uint8_t> src,
                                               int64_t rows, int64_t cols) {
  auto traits = supportedTraits(type);
  if (!traits)
    return traits.takeError();
  const Format *format = packedFormat(type);
  if (!format)
    return error("tensor type " + (*traits)->name +
                 " is not a packed type: it has nothing to repack "
                 "(read it with dequantize)");
  int64_t blockSize = (*traits)->blockSize, typeSize = (*traits)->typeSize;
  if (rows < 0 || cols < 0)
    return error("cannot repack a " + llvm::Twine(rows) + " x " +
                 llvm::Twine(cols) + " " + (*traits)->name + " matrix");
  if (cols % blockSize != 0)
    return error("cannot repack " + (*traits)->name + " rows of " +
                 llvm::Twine(cols) + " elements: not a whole number of " +
                 llvm::Twine(blockSize) + "-element blocks");
  int64_t blocksPerRow = cols / blockSize;
  std::optional<int64_t> rowSize = llvm::checkedMul(blocksPerRow, typeSize);
  std::optional<int64_t> total =
      rowSize ? llvm::checkedMul(*rowSize, rows) : std::nullopt;
  if (!total || uint64_t(*total) != src.size()) {
    std::string needs = total ? std::to_string(*total) + " bytes"
                              : std::string("more bytes than can be held");
    return error("a " + llvm::Twine(rows) + " x " + llvm::Twine(cols) + " " +
                 (*traits)->name + " matrix needs " + needs + ", got " +
                 llvm::Twine(src.size()));
  }

  PackedMatrix m;
  m.bits = format->bits;
  m.signedCodes = format->signedCodes;
  m.groupSize = format->groupSize;
  m.f32Scales = format->f32Scales;
  m.hasMin =
      format->formula == Formula::AddMin || format->formula == Formula::SubMin;
  if (format->formula == Formula::Levels)
    for (int8_t v : kIQ4Values)
      m.levels.push_back(float(v));
  m.rows = rows;
  m.cols = cols;
  int64_t packedRow = m.rowBytes(), groups = m.groups();
  int64_t scaleBytes = m.f32Scales ? 4 : 2;
  m.codes.assign(size_t(rows * packedRow), 0);
  m.scales.assign(size_t(rows * groups * scaleBytes), 0);
  if (m.hasMin)
    m.mins.assign(m.scales.size(), 0);
  int64_t groupsPerBlock = blockSize / format->groupSize;

  forChunks(rows, 16, [&](int64_t begin, int64_t end) {
    uint8_t codes[256];
    Group blockGroups[16];
    for (int64_t r = begin; r < end; ++r) {
      // Codes are appended lsb-first to a bit accumulator and flushed a byte
      // at a time; the row's last partial byte is zero-padded.
      uint8_t *out = m.codes.data() + r * packedRow;
      uint64_t acc = 0;
      unsigned accBits = 0;
      for (int64_t blk = 0; blk < blocksPerRow; ++blk) {
        const uint8_t *block = src.data() + (r * blocksPerRow + blk) * typeSize;
        format->unpack(block, codes, blockGroups);
        for (int64_t i = 0; i < blockSize; ++i) {
          acc |= uint64_t(codes[i] & ((1u << format->bits) - 1)) << accBits;
          accBits += format->bits;
          while (accBits >= 8) {
            *out++ = uint8_t(acc);
            acc >>= 8;
            accBits -= 8;
          }
        }
        for (int64_t g = 0; g < groupsPerBlock; ++g) {
          const Group &grp = blockGroups[g];
          int64_t at = (r * groups + blk * groupsPerBlock + g) * scaleBytes;
          if (!m.f32Scales) {
            putLE16(m.scales.data() + at, grp.dHalf);
            if (m.hasMin)
              putLE16(m.mins.data() + at, grp.mHalf);
            continue;
          }
          putLE32(m.scales.data() + at, floatToBits(grp.d));
          if (format->formula == Formula::SubMin)
            putLE32(m.mins.data() + at,
                    floatToBits(std::isnan(grp.m) ? grp.m : -grp.m));
        }
      }
      if (accBits)
        *out = uint8_t(acc);
    }
  });
  return m;
}

float qtc::gguf::decodePacked(const PackedMatrix &m, int64_t r, int64_t c) {
  assert(r >= 0 && r < m.rows && c >= 0 && c < m.cols && "out of range");
  assert(m.bits >= 1 && m.bits <= 8 && m.groupSize > 0);
  const uint8_t *row = m.codes.data() + r * m.rowBytes();
  int64_t bit = c * m.bits;
  int64_t byte = bit / 8;
  unsigned window = row[byte];
  if (byte + 1 < m.rowBytes())
    window |= unsigned(row[byte + 1]) << 8;
  unsigned code = (window >> (bit % 8)) & ((1u << m.bits) - 1);

  int64_t g = r * m.groups() + c / m.groupSize;
  auto param = [&](const std::vector<uint8_t> &bytes) {
    if (m.f32Scales)
      return bitsToFloat(le32(bytes.data() + 4 * g));
    return halfToFloat(le16(bytes.data() + 2 * g));
  };
  float scale = param(m.scales);
  if (!m.levels.empty())
    return m.levels[code] * scale;
  if (m.hasMin)
    return float(code) * scale + param(m.mins);
  float value;
  if (m.signedCodes) {
    // The B-bit two's complement code.
    int32_t s = int32_t(code);
    if (code >> (m.bits - 1))
      s -= int32_t(1) << m.bits;
    value = float(s);
  } else {
    value = float(code) - float(1u << (m.bits - 1));
  }
  return value * scale;
}
