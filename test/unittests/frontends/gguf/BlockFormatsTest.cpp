//===- BlockFormatsTest.cpp - Tests of the GGML block formats -------------===//
//
// fixtures/blocks.bin (written by gen_blocks.py with gguf-py) holds raw
// blocks of every type qtc reads and gguf-py's dequantization of them; the
// C++ dequantizer must reproduce every float bit for bit, and decoding the
// canonical repacking of the same blocks must too. The type table is
// checked against ggml's sizes, hard-coded here, and malformed input must
// give one-line errors naming the type.
//
//===----------------------------------------------------------------------===//

#include "frontends/gguf/BlockFormats.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#ifndef QTC_GGUF_FIXTURES
#error "QTC_GGUF_FIXTURES must name the fixture directory"
#endif

using namespace qtc::gguf;

namespace {

//===----------------------------------------------------------------------===//
// Fixture
//===----------------------------------------------------------------------===//

struct Case {
  std::string name;
  uint32_t type = 0;
  uint32_t blocks = 0;
  std::vector<uint8_t> raw;
  std::vector<uint32_t> expected; // f32 bit patterns
};

uint32_t readU32(const uint8_t *p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) |
         (uint32_t(p[3]) << 24);
}

/// Parses blocks.bin (format in gen_blocks.py); empty on any error, with
/// the reason in `error`.
std::vector<Case> parseFixture(llvm::StringRef data, std::string &error) {
  std::vector<Case> cases;
  const auto *p = reinterpret_cast<const uint8_t *>(data.data());
  size_t size = data.size(), at = 0;
  auto need = [&](size_t n) { return size - at >= n; };
  if (!need(16) || data.substr(0, 8) != "QTCGGUFB" || readU32(p + 8) != 1) {
    error = "bad header";
    return {};
  }
  uint32_t count = readU32(p + 12);
  at = 16;
  for (uint32_t i = 0; i < count; ++i) {
    if (!need(20)) {
      error = "truncated case header";
      return {};
    }
    Case c;
    c.type = readU32(p + at);
    c.blocks = readU32(p + at + 4);
    uint32_t bytes = readU32(p + at + 8), floats = readU32(p + at + 12);
    uint32_t nameLen = readU32(p + at + 16);
    at += 20;
    if (!need(uint64_t(nameLen) + bytes + uint64_t(floats) * 4)) {
      error = "truncated case";
      return {};
    }
    c.name = std::string(data.substr(at, nameLen));
    at += nameLen;
    c.raw.assign(p + at, p + at + bytes);
    at += bytes;
    for (uint32_t k = 0; k < floats; ++k)
      c.expected.push_back(readU32(p + at + 4 * k));
    at += uint64_t(floats) * 4;
    cases.push_back(std::move(c));
  }
  if (at != size)
    error = "trailing bytes";
  return cases;
}

const std::vector<Case> &fixture() {
  static std::string error;
  static const std::vector<Case> cases = [] {
    llvm::SmallString<256> path(QTC_GGUF_FIXTURES);
    llvm::sys::path::append(path, "blocks.bin");
    auto buffer = llvm::MemoryBuffer::getFile(path);
    if (!buffer) {
      error = "cannot read " + std::string(path);
      return std::vector<Case>();
    }
    return parseFixture((*buffer)->getBuffer(), error);
  }();
  EXPECT_TRUE(error.empty()) << "blocks.bin: " << error;
  return cases;
}

std::vector<const Case *> casesOf(GGMLType type) {
  std::vector<const Case *> result;
  for (const Case &c : fixture())
    if (c.type == uint32_t(type))
      result.push_back(&c);
  return result;
}

uint32_t bitsOf(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

[[maybe_unused]] bool isNaNBits(uint32_t bits) { return (bits & 0x7fffffffu) > 0x7f800000u; }

/// Bit-exact equality. The NaN an invalid operation (inf * 0) makes is the
/// hardware's default NaN, and the fixture was written on x86-64: elsewhere
/// NaNs only need to be NaNs.
bool sameBits(uint32_t actual, uint32_t expected) {
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
  return actual == expected;
#else
  return actual == expected || (isNaNBits(actual) && isNaNBits(expected));
#endif
}

/// Compares `actual` with `expected` bit for bit; reports the first few
/// differences.
void expectBits(llvm::ArrayRef<float> actual, llvm::ArrayRef<uint32_t> expected,
                const std::string &what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  int reported = 0;
  size_t mismatches = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    uint32_t got = bitsOf(actual[i]);
    if (sameBits(got, expected[i]))
      continue;
    ++mismatches;
    if (reported++ < 5)
      ADD_FAILURE() << what << ": element " << i << ": got 0x" << std::hex
                    << got << ", gguf-py 0x" << expected[i] << std::dec;
  }
  EXPECT_EQ(mismatches, 0u) << what;
}

//===----------------------------------------------------------------------===//
// Dequantization against gguf-py
//===----------------------------------------------------------------------===//

void checkDequantize(GGMLType type, bool expectQuantizedCase) {
  std::vector<const Case *> cases = casesOf(type);
  ASSERT_FALSE(cases.empty()) << "no fixture case for type "
                              << uint32_t(type);
  bool sawQuantized = false;
  const TypeTraits *traits = typeTraits(uint32_t(type));
  ASSERT_NE(traits, nullptr);
  for (const Case *c : cases) {
    SCOPED_TRACE(c->name);
    sawQuantized |= llvm::StringRef(c->name).ends_with("/quantized");
    ASSERT_EQ(c->raw.size(), uint64_t(c->blocks) * traits->typeSize);
    ASSERT_EQ(c->expected.size(), uint64_t(c->blocks) * traits->blockSize);
    std::vector<float> out(c->expected.size());
    llvm::Error err = dequantize(uint32_t(type), c->raw, out);
    ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
    expectBits(out, c->expected, c->name);
  }
  EXPECT_EQ(sawQuantized, expectQuantizedCase);
}

#define DEQUANTIZE_TEST(T, quantized)                                          \
  TEST(GGUFBlocks, Dequantize##T) { checkDequantize(GGMLType::T, quantized); }

DEQUANTIZE_TEST(F32, false)
DEQUANTIZE_TEST(F16, false)
DEQUANTIZE_TEST(BF16, true)
DEQUANTIZE_TEST(Q4_0, true)
DEQUANTIZE_TEST(Q4_1, true)
DEQUANTIZE_TEST(Q5_0, true)
DEQUANTIZE_TEST(Q5_1, true)
DEQUANTIZE_TEST(Q8_0, true)
DEQUANTIZE_TEST(Q2_K, false)
DEQUANTIZE_TEST(Q3_K, false)
DEQUANTIZE_TEST(Q4_K, false)
DEQUANTIZE_TEST(Q5_K, false)
DEQUANTIZE_TEST(Q6_K, false)
DEQUANTIZE_TEST(IQ4_NL, false)
DEQUANTIZE_TEST(IQ4_XS, false)

/// Large inputs are decoded in parallel chunks; the result must not change.
TEST(GGUFBlocks, DequantizeManyBlocks) {
  for (GGMLType type : {GGMLType::Q4_0, GGMLType::Q6_K}) {
    std::vector<const Case *> cases = casesOf(type);
    ASSERT_FALSE(cases.empty());
    const Case &c = *cases.front();
    std::vector<uint8_t> raw;
    std::vector<uint32_t> expected;
    for (int copy = 0; copy < 100; ++copy) {
      raw.insert(raw.end(), c.raw.begin(), c.raw.end());
      expected.insert(expected.end(), c.expected.begin(), c.expected.end());
    }
    std::vector<float> out(expected.size());
    llvm::Error err = dequantize(uint32_t(type), raw, out);
    ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
    expectBits(out, expected, c.name + " x 100");
  }
}

//===----------------------------------------------------------------------===//
// Repacking
//===----------------------------------------------------------------------===//

/// The canonical form each packed type must map to.
struct ExpectedForm {
  unsigned bits;
  bool signedCodes;
  int64_t groupSize;
  bool f32Scales;
  bool hasMin;
  bool levels;
};

const int8_t kIQ4Grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                             1,    13,   25,  38,  53,  69,  89,  113};

/// Reads code c of row r bit by bit (lsb-first, rows byte-aligned).
unsigned codeAt(const PackedMatrix &m, int64_t r, int64_t c) {
  unsigned code = 0;
  for (unsigned k = 0; k < m.bits; ++k) {
    int64_t bit = c * m.bits + k;
    code |= ((m.codes[r * m.rowBytes() + bit / 8] >> (bit % 8)) & 1u) << k;
  }
  return code;
}

void checkRepack(GGMLType type, ExpectedForm form) {
  const TypeTraits *traits = typeTraits(uint32_t(type));
  ASSERT_NE(traits, nullptr);
  // All blocks of the type, and gguf-py's values of them.
  std::vector<uint8_t> raw;
  std::vector<uint32_t> expected;
  for (const Case *c : casesOf(type)) {
    raw.insert(raw.end(), c->raw.begin(), c->raw.end());
    expected.insert(expected.end(), c->expected.begin(), c->expected.end());
  }
  int64_t blocks = int64_t(raw.size()) / traits->typeSize;
  ASSERT_GE(blocks, 12);

  for (int64_t perRow : {1, 2, 3, 4}) {
    int64_t rows = blocks / perRow, cols = perRow * traits->blockSize;
    SCOPED_TRACE(std::to_string(rows) + " x " + std::to_string(cols));
    llvm::ArrayRef<uint8_t> src(raw.data(), rows * perRow * traits->typeSize);
    auto packed = repack(uint32_t(type), src, rows, cols);
    ASSERT_TRUE(bool(packed)) << llvm::toString(packed.takeError());
    const PackedMatrix &m = *packed;

    EXPECT_EQ(m.bits, form.bits);
    EXPECT_EQ(m.signedCodes, form.signedCodes);
    EXPECT_EQ(m.groupSize, form.groupSize);
    EXPECT_EQ(m.f32Scales, form.f32Scales);
    EXPECT_EQ(m.hasMin, form.hasMin);
    if (form.levels) {
      ASSERT_EQ(m.levels.size(), 16u);
      for (int i = 0; i < 16; ++i)
        EXPECT_EQ(m.levels[i], float(kIQ4Grid[i]));
    } else {
      EXPECT_TRUE(m.levels.empty());
    }
    EXPECT_EQ(m.rows, rows);
    EXPECT_EQ(m.cols, cols);
    EXPECT_EQ(m.rowBytes(), (cols * form.bits + 7) / 8);
    EXPECT_EQ(int64_t(m.codes.size()), rows * m.rowBytes());
    int64_t scaleBytes = rows * (cols / form.groupSize) *
                         (form.f32Scales ? 4 : 2);
    EXPECT_EQ(int64_t(m.scales.size()), scaleBytes);
    EXPECT_EQ(int64_t(m.mins.size()), form.hasMin ? scaleBytes : 0);

    // Against the C++ dequantizer and gguf-py, bit for bit.
    std::vector<float> reference(rows * cols);
    llvm::Error err = dequantize(uint32_t(type), src, reference);
    ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
    std::vector<float> decoded(rows * cols);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        decoded[r * cols + c] = decodePacked(m, r, c);
        ASSERT_LT(codeAt(m, r, c), 1u << form.bits);
      }
    std::vector<uint32_t> referenceBits;
    for (float f : reference)
      referenceBits.push_back(bitsOf(f));
    expectBits(decoded, referenceBits, "decodePacked vs dequantize");
    expectBits(decoded,
               llvm::ArrayRef<uint32_t>(expected).take_front(rows * cols),
               "decodePacked vs gguf-py");

    // The bits past the last code of a row are zero.
    int64_t usedBits = cols * form.bits;
    if (usedBits % 8) {
      for (int64_t r = 0; r < rows; ++r) {
        EXPECT_EQ(m.codes[r * m.rowBytes() + usedBits / 8] >> (usedBits % 8),
                  0);
      }
    }
  }
}

#define REPACK_TEST(T, ...)                                                    \
  TEST(GGUFBlocks, Repack##T) {                                                \
    checkRepack(GGMLType::T, ExpectedForm{__VA_ARGS__});                       \
  }

//          bits signed group f32Scales hasMin levels
REPACK_TEST(Q4_0, 4, false, 32, false, false, false)
REPACK_TEST(Q4_1, 4, false, 32, false, true, false)
REPACK_TEST(Q5_0, 5, false, 32, false, false, false)
REPACK_TEST(Q5_1, 5, false, 32, false, true, false)
REPACK_TEST(Q8_0, 8, true, 32, false, false, false)
REPACK_TEST(Q2_K, 2, false, 16, true, true, false)
REPACK_TEST(Q3_K, 3, false, 16, true, false, false)
REPACK_TEST(Q4_K, 4, false, 32, true, true, false)
REPACK_TEST(Q5_K, 5, false, 32, true, true, false)
REPACK_TEST(Q6_K, 6, false, 16, true, false, false)
REPACK_TEST(IQ4_NL, 4, false, 32, false, false, true)
REPACK_TEST(IQ4_XS, 4, false, 32, true, false, true)

/// Codes 0..31 in one Q5_0 block (d = 1): the packed row is the 5-bit codes
/// laid end to end, lsb-first, straddling bytes.
TEST(GGUFBlocks, RepackQ5_0BitLayout) {
  std::vector<uint8_t> block(22, 0);
  block[0] = 0x00, block[1] = 0x3c; // d = 1.0
  uint32_t qh = 0xffff0000u;        // codes 16..31 have bit 4 set
  for (int i = 0; i < 4; ++i)
    block[2 + i] = uint8_t(qh >> (8 * i));
  for (int j = 0; j < 16; ++j)
    block[6 + j] = uint8_t(j | (j << 4)); // low nibbles of j and j + 16
  auto packed = repack(uint32_t(GGMLType::Q5_0), block, 1, 32);
  ASSERT_TRUE(bool(packed)) << llvm::toString(packed.takeError());
  std::vector<uint8_t> expected(20, 0);
  for (int c = 0; c < 32; ++c)
    for (int k = 0; k < 5; ++k)
      if ((c >> k) & 1)
        expected[(5 * c + k) / 8] |= uint8_t(1u << ((5 * c + k) % 8));
  EXPECT_EQ(packed->codes, expected);
  EXPECT_EQ(packed->scales, (std::vector<uint8_t>{0x00, 0x3c}));
  for (int c = 0; c < 32; ++c)
    EXPECT_EQ(decodePacked(*packed, 0, c), float(c - 16)) << c;
}

/// Q8_0's codes are its int8 quants unchanged.
TEST(GGUFBlocks, RepackQ8_0KeepsQuants) {
  std::vector<uint8_t> blocks(2 * 34);
  for (size_t i = 0; i < blocks.size(); ++i)
    blocks[i] = uint8_t(i * 37 + 11);
  blocks[0] = 0x00, blocks[1] = 0xc0;   // d = -2
  blocks[34] = 0x00, blocks[35] = 0x38; // d = 0.5
  auto packed = repack(uint32_t(GGMLType::Q8_0), blocks, 1, 64);
  ASSERT_TRUE(bool(packed)) << llvm::toString(packed.takeError());
  for (int c = 0; c < 64; ++c) {
    uint8_t q = blocks[(c / 32) * 34 + 2 + c % 32];
    EXPECT_EQ(packed->codes[c], q);
    EXPECT_EQ(decodePacked(*packed, 0, c),
              float(int8_t(q)) * (c < 32 ? -2.0f : 0.5f));
  }
}

//===----------------------------------------------------------------------===//
// Type table
//===----------------------------------------------------------------------===//

TEST(GGUFBlocks, TypeTraitsMatchGGML) {
  struct Row {
    GGMLType type;
    const char *name;
    int64_t blockSize, typeSize;
    bool supported;
  };
  // ggml.c's type_traits: blck_size and sizeof(block_*) (ggml-common.h).
  const Row rows[] = {
      {GGMLType::F32, "F32", 1, 4, true},
      {GGMLType::F16, "F16", 1, 2, true},
      {GGMLType::Q4_0, "Q4_0", 32, 2 + 16, true},
      {GGMLType::Q4_1, "Q4_1", 32, 2 + 2 + 16, true},
      {GGMLType::Q5_0, "Q5_0", 32, 2 + 4 + 16, true},
      {GGMLType::Q5_1, "Q5_1", 32, 2 + 2 + 4 + 16, true},
      {GGMLType::Q8_0, "Q8_0", 32, 2 + 32, true},
      {GGMLType::Q8_1, "Q8_1", 32, 2 + 2 + 32, false},
      {GGMLType::Q2_K, "Q2_K", 256, 16 + 64 + 2 + 2, true},
      {GGMLType::Q3_K, "Q3_K", 256, 32 + 64 + 12 + 2, true},
      {GGMLType::Q4_K, "Q4_K", 256, 2 + 2 + 12 + 128, true},
      {GGMLType::Q5_K, "Q5_K", 256, 2 + 2 + 12 + 32 + 128, true},
      {GGMLType::Q6_K, "Q6_K", 256, 128 + 64 + 16 + 2, true},
      {GGMLType::Q8_K, "Q8_K", 256, 4 + 256 + 32, false},
      {GGMLType::IQ2_XXS, "IQ2_XXS", 256, 2 + 64, false},
      {GGMLType::IQ2_XS, "IQ2_XS", 256, 2 + 64 + 8, false},
      {GGMLType::IQ3_XXS, "IQ3_XXS", 256, 2 + 96, false},
      {GGMLType::IQ1_S, "IQ1_S", 256, 2 + 32 + 16, false},
      {GGMLType::IQ4_NL, "IQ4_NL", 32, 2 + 16, true},
      {GGMLType::IQ3_S, "IQ3_S", 256, 2 + 64 + 8 + 32 + 4, false},
      {GGMLType::IQ2_S, "IQ2_S", 256, 2 + 64 + 8 + 8, false},
      {GGMLType::IQ4_XS, "IQ4_XS", 256, 2 + 2 + 4 + 128, true},
      {GGMLType::I8, "I8", 1, 1, false},
      {GGMLType::I16, "I16", 1, 2, false},
      {GGMLType::I32, "I32", 1, 4, false},
      {GGMLType::I64, "I64", 1, 8, false},
      {GGMLType::F64, "F64", 1, 8, false},
      {GGMLType::IQ1_M, "IQ1_M", 256, 32 + 16 + 8, false},
      {GGMLType::BF16, "BF16", 1, 2, true},
      {GGMLType::TQ1_0, "TQ1_0", 256, 48 + 4 + 2, false},
      {GGMLType::TQ2_0, "TQ2_0", 256, 64 + 2, false},
      {GGMLType::MXFP4, "MXFP4", 32, 1 + 16, false},
  };
  for (const Row &row : rows) {
    const TypeTraits *traits = typeTraits(uint32_t(row.type));
    ASSERT_NE(traits, nullptr) << row.name;
    EXPECT_EQ(traits->name, row.name);
    EXPECT_EQ(traits->blockSize, row.blockSize) << row.name;
    EXPECT_EQ(traits->typeSize, row.typeSize) << row.name;
    EXPECT_EQ(traits->supported, row.supported) << row.name;
  }
  for (uint32_t unknown : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 999u,
                           std::numeric_limits<uint32_t>::max()})
    EXPECT_EQ(typeTraits(unknown), nullptr) << unknown;
}

TEST(GGUFBlocks, RowBytes) {
  auto q4k = rowBytes(uint32_t(GGMLType::Q4_K), 4096);
  ASSERT_TRUE(bool(q4k)) << llvm::toString(q4k.takeError());
  EXPECT_EQ(*q4k, 16 * 144);
  auto f16 = rowBytes(uint32_t(GGMLType::F16), 7);
  ASSERT_TRUE(bool(f16)) << llvm::toString(f16.takeError());
  EXPECT_EQ(*f16, 14);
  // Layout only: unsupported types have row sizes too.
  auto iq2 = rowBytes(uint32_t(GGMLType::IQ2_XXS), 512);
  ASSERT_TRUE(bool(iq2)) << llvm::toString(iq2.takeError());
  EXPECT_EQ(*iq2, 132);
  auto empty = rowBytes(uint32_t(GGMLType::Q8_0), 0);
  ASSERT_TRUE(bool(empty));
  EXPECT_EQ(*empty, 0);
}

//===----------------------------------------------------------------------===//
// Malformed input
//===----------------------------------------------------------------------===//

/// The message of an error that must have happened; one line.
template <typename T> std::string errorOf(llvm::Expected<T> result) {
  if (result) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  std::string message = llvm::toString(result.takeError());
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  return message;
}

std::string errorOf(llvm::Error err) {
  if (!err) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  std::string message = llvm::toString(std::move(err));
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  return message;
}

bool contains(const std::string &haystack, llvm::StringRef needle) {
  return llvm::StringRef(haystack).contains(needle);
}

TEST(GGUFBlocks, RowBytesErrors) {
  std::string msg = errorOf(rowBytes(uint32_t(GGMLType::Q4_K), 100));
  EXPECT_TRUE(contains(msg, "Q4_K") && contains(msg, "100")) << msg;
  msg = errorOf(rowBytes(999, 32));
  EXPECT_TRUE(contains(msg, "999")) << msg;
  msg = errorOf(rowBytes(uint32_t(GGMLType::Q8_0), -32));
  EXPECT_TRUE(contains(msg, "Q8_0")) << msg;
  // Huge but whole: the byte count would overflow int64.
  msg = errorOf(rowBytes(uint32_t(GGMLType::F64),
                         std::numeric_limits<int64_t>::max()));
  EXPECT_TRUE(contains(msg, "F64")) << msg;
}

TEST(GGUFBlocks, DequantizeRejectsBadInput) {
  std::vector<uint8_t> bytes(2 * 18, 0);
  std::vector<float> out(64);
  // Not a whole number of blocks.
  std::string msg = errorOf(dequantize(
      uint32_t(GGMLType::Q4_0), llvm::ArrayRef(bytes).drop_back(), out));
  EXPECT_TRUE(contains(msg, "Q4_0") && contains(msg, "35")) << msg;
  // Output of the wrong size, either way.
  std::vector<float> small(63), large(65);
  msg = errorOf(dequantize(uint32_t(GGMLType::Q4_0), bytes, small));
  EXPECT_TRUE(contains(msg, "Q4_0") && contains(msg, "63")) << msg;
  msg = errorOf(dequantize(uint32_t(GGMLType::Q4_0), bytes, large));
  EXPECT_TRUE(contains(msg, "65")) << msg;
  // Plain types check sizes too.
  msg = errorOf(dequantize(uint32_t(GGMLType::F32),
                           llvm::ArrayRef(bytes).take_front(6), out));
  EXPECT_TRUE(contains(msg, "F32")) << msg;
  // Unknown and unsupported types.
  msg = errorOf(dequantize(999, bytes, out));
  EXPECT_TRUE(contains(msg, "999")) << msg;
  std::vector<uint8_t> iq2(66, 0);
  std::vector<float> iq2Out(256);
  msg = errorOf(dequantize(uint32_t(GGMLType::IQ2_XXS), iq2, iq2Out));
  EXPECT_TRUE(contains(msg, "tensor type IQ2_XXS is not supported")) << msg;
  EXPECT_TRUE(contains(msg, "Q4_K")) << "lists the supported types: " << msg;
  // Nothing to do is fine.
  EXPECT_FALSE(bool(dequantize(uint32_t(GGMLType::Q6_K), {}, {})));
}

TEST(GGUFBlocks, RepackRejectsBadInput) {
  std::vector<uint8_t> q4k(2 * 144, 0);
  // Columns not a whole number of blocks.
  std::string msg = errorOf(repack(uint32_t(GGMLType::Q4_K), q4k, 2, 100));
  EXPECT_TRUE(contains(msg, "Q4_K") && contains(msg, "100")) << msg;
  msg = errorOf(repack(uint32_t(GGMLType::Q4_0), q4k, 1, 48));
  EXPECT_TRUE(contains(msg, "Q4_0") && contains(msg, "48")) << msg;
  // Byte count that does not match the shape.
  msg = errorOf(repack(uint32_t(GGMLType::Q4_K), q4k, 2, 512));
  EXPECT_TRUE(contains(msg, "Q4_K") && contains(msg, "288")) << msg;
  msg = errorOf(
      repack(uint32_t(GGMLType::Q4_K), llvm::ArrayRef(q4k).drop_back(), 2,
             256));
  EXPECT_TRUE(contains(msg, "287")) << msg;
  // Negative and overflowing shapes.
  msg = errorOf(repack(uint32_t(GGMLType::Q4_K), q4k, -2, 256));
  EXPECT_TRUE(contains(msg, "Q4_K")) << msg;
  msg = errorOf(repack(uint32_t(GGMLType::Q4_K), q4k,
                       std::numeric_limits<int64_t>::max() / 2, 256 * 1024));
  EXPECT_TRUE(contains(msg, "Q4_K")) << msg;
  // Plain types are not packed.
  for (GGMLType plain : {GGMLType::F32, GGMLType::F16, GGMLType::BF16}) {
    msg = errorOf(repack(uint32_t(plain), q4k, 1, 16));
    EXPECT_TRUE(contains(msg, "not a packed type")) << msg;
    EXPECT_TRUE(contains(msg, typeTraits(uint32_t(plain))->name)) << msg;
  }
  // Unknown and unsupported types.
  msg = errorOf(repack(999, q4k, 1, 256));
  EXPECT_TRUE(contains(msg, "999")) << msg;
  std::vector<uint8_t> iq2(66, 0);
  msg = errorOf(repack(uint32_t(GGMLType::IQ2_XXS), iq2, 1, 256));
  EXPECT_TRUE(contains(msg, "tensor type IQ2_XXS is not supported")) << msg;
  msg = errorOf(repack(uint32_t(GGMLType::Q8_1), q4k, 1, 32));
  EXPECT_TRUE(contains(msg, "Q8_1")) << msg;
  // An empty matrix is fine.
  auto empty = repack(uint32_t(GGMLType::Q4_K), {}, 0, 512);
  ASSERT_TRUE(bool(empty)) << llvm::toString(empty.takeError());
  EXPECT_TRUE(empty->codes.empty() && empty->scales.empty() &&
              empty->mins.empty());
}

} // namespace
