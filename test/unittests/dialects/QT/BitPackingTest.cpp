//===- BitPackingTest.cpp - Tests of low-bit packing ----------------------===//

#include "dialects/QT/Utils/BitPacking.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

using namespace qtc;

namespace {

std::vector<uint8_t> randomCodes(size_t count, unsigned bits, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(0, (1 << bits) - 1);
  std::vector<uint8_t> codes(count);
  for (uint8_t &c : codes)
    c = static_cast<uint8_t>(dist(rng));
  return codes;
}

/// Reads code i back bit by bit from the definition of each order, as an
/// oracle independent of the accumulator-based implementation.
uint8_t referenceCode(const std::vector<uint8_t> &packed, unsigned bits,
                      size_t i, BitOrder order) {
  uint8_t code = 0;
  for (unsigned b = 0; b < bits; ++b) {
    size_t streamBit = i * bits + b;
    size_t byte = streamBit / 8;
    unsigned bitInByte = (order == BitOrder::LsbFirst)
                             ? static_cast<unsigned>(streamBit % 8)
                             : 7 - static_cast<unsigned>(streamBit % 8);
    unsigned bit = (packed[byte] >> bitInByte) & 1u;
    // LsbFirst: stream bit b is the code's bit b; MsbFirst: the code's
    // most significant bit comes first.
    unsigned codeBit = (order == BitOrder::LsbFirst) ? b : bits - 1 - b;
    code |= static_cast<uint8_t>(bit << codeBit);
  }
  return code;
}

class BitPackingRoundTrip
    : public ::testing::TestWithParam<std::tuple<unsigned, BitOrder>> {};

TEST_P(BitPackingRoundTrip, RandomValuesSurvive) {
  auto [bits, order] = GetParam();
  // Lengths that end mid-byte and mid-word as well as round ones.
  for (size_t count : {1u, 2u, 3u, 7u, 8u, 31u, 64u, 1000u, 4099u}) {
    std::vector<uint8_t> codes = randomCodes(count, bits, 1234u + count);
    std::vector<uint8_t> packed = packBits(codes, bits, order);
    ASSERT_EQ(static_cast<int64_t>(packed.size()), packedBytes(count, bits));
    EXPECT_EQ(unpackBits(packed, bits, count, order), codes)
        << "bits=" << bits << " count=" << count;
    for (size_t i = 0; i < count; ++i)
      ASSERT_EQ(referenceCode(packed, bits, i, order), codes[i])
          << "bits=" << bits << " index=" << i;
  }
}

TEST_P(BitPackingRoundTrip, RowsStartOnByteBoundaries) {
  auto [bits, order] = GetParam();
  const int64_t rows = 5, cols = 13; // 13 codes never fill whole bytes at 3 bits
  std::vector<uint8_t> codes = randomCodes(rows * cols, bits, 99u);
  std::vector<uint8_t> packed = packRows(codes, rows, cols, bits, order);
  const int64_t rowBytes = packedBytes(cols, bits);
  ASSERT_EQ(static_cast<int64_t>(packed.size()), rows * rowBytes);
  EXPECT_EQ(unpackRows(packed, rows, cols, bits, order), codes);
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<uint8_t> row(packed.begin() + r * rowBytes,
                             packed.begin() + (r + 1) * rowBytes);
    for (int64_t c = 0; c < cols; ++c)
      ASSERT_EQ(referenceCode(row, bits, c, order), codes[r * cols + c]);
  }
}

TEST_P(BitPackingRoundTrip, RepackBetweenOrdersKeepsCodes) {
  auto [bits, order] = GetParam();
  const int64_t rows = 3, cols = 40;
  BitOrder other =
      order == BitOrder::LsbFirst ? BitOrder::MsbFirst : BitOrder::LsbFirst;
  std::vector<uint8_t> codes = randomCodes(rows * cols, bits, 7u);
  std::vector<uint8_t> packed = packRows(codes, rows, cols, bits, order);
  std::vector<uint8_t> repacked =
      repackRows(packed, rows, cols, bits, order, other);
  EXPECT_EQ(unpackRows(repacked, rows, cols, bits, other), codes);
  if (bits != 8) { // whole bytes look the same in both orders
    EXPECT_NE(repacked, packed);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllWidths, BitPackingRoundTrip,
    ::testing::Combine(::testing::Values(2u, 3u, 4u, 5u, 6u, 7u, 8u),
                       ::testing::Values(BitOrder::LsbFirst,
                                         BitOrder::MsbFirst)),
    [](const ::testing::TestParamInfo<BitPackingRoundTrip::ParamType> &info) {
      return "bits" + std::to_string(std::get<0>(info.param)) +
             (std::get<1>(info.param) == BitOrder::LsbFirst ? "_lsb" : "_msb");
    });

// Known layouts written by the tools qtc reads.

TEST(BitPacking, OnnxInt4IsLowNibbleFirst) {
  // ONNX INT4/UINT4 and MatMulNBits: element 0 in bits 0-3.
  std::vector<uint8_t> codes = {0x1, 0x2, 0x3, 0x4, 0xF};
  EXPECT_EQ(packBits(codes, 4, BitOrder::LsbFirst),
            (std::vector<uint8_t>{0x21, 0x43, 0x0F}));
  EXPECT_EQ(packBits(codes, 4, BitOrder::MsbFirst),
            (std::vector<uint8_t>{0x12, 0x34, 0xF0}));
}

TEST(BitPacking, TwoBitCodesFillBytesFromBitZero) {
  std::vector<uint8_t> codes = {0, 1, 2, 3};
  EXPECT_EQ(packBits(codes, 2, BitOrder::LsbFirst),
            (std::vector<uint8_t>{0b11100100}));
  EXPECT_EQ(packBits(codes, 2, BitOrder::MsbFirst),
            (std::vector<uint8_t>{0b00011011}));
}

TEST(BitPacking, ThreeBitCodesStraddleBytes) {
  // Codes 0..7 at 3 bits: 24 bits, stream 0b111'110'101'100'011'010'001'000
  // read low bits first = 0xFAC688.
  std::vector<uint8_t> codes = {0, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(packBits(codes, 3, BitOrder::LsbFirst),
            (std::vector<uint8_t>{0x88, 0xC6, 0xFA}));
  // Most significant first: 000 001 010 011 100 101 110 111 = 0x053977.
  EXPECT_EQ(packBits(codes, 3, BitOrder::MsbFirst),
            (std::vector<uint8_t>{0x05, 0x39, 0x77}));
}

TEST(BitPacking, ValueBitsAboveWidthAreIgnored) {
  std::vector<uint8_t> codes = {0xF1, 0xE2};
  EXPECT_EQ(packBits(codes, 4, BitOrder::LsbFirst),
            (std::vector<uint8_t>{0x21}));
}

TEST(BitPacking, SignExtendTwoComplement) {
  EXPECT_EQ(signExtend(0x7, 4), 7);
  EXPECT_EQ(signExtend(0x8, 4), -8);
  EXPECT_EQ(signExtend(0xF, 4), -1);
  EXPECT_EQ(signExtend(0x3, 3), 3);
  EXPECT_EQ(signExtend(0x4, 3), -4);
  EXPECT_EQ(signExtend(0x2, 2), -2);
  EXPECT_EQ(signExtend(0x80, 8), -128);
  EXPECT_EQ(signExtend(0xFF, 8), -1);
  EXPECT_EQ(signExtend(0x1F5, 4), 5); // bits above the width are dropped
}

TEST(BitPacking, PackedBytesRoundsUp) {
  EXPECT_EQ(packedBytes(0, 4), 0);
  EXPECT_EQ(packedBytes(1, 4), 1);
  EXPECT_EQ(packedBytes(3, 3), 2);
  EXPECT_EQ(packedBytes(8, 3), 3);
  EXPECT_EQ(packedBytes(128, 2), 32);
  EXPECT_EQ(packedBytes(5, 8), 5);
}

} // namespace
