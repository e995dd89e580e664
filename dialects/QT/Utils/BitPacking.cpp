//===- BitPacking.cpp - Low-bit integer packing helpers -------------------===//

#include "dialects/QT/Utils/BitPacking.h"

#include <cassert>

using namespace qtc;

// Both directions stream through a 64-bit accumulator, so every width from 1
// to 8 bits, straddling byte boundaries or not, takes the same path at a few
// operations per code.

void qtc::packBits(llvm::ArrayRef<uint8_t> values, unsigned bits,
                        BitOrder order, llvm::MutableArrayRef<uint8_t> out) {
  assert(isValidPackedBitWidth(bits) && "bit width must be in [1, 8]");
  assert(static_cast<int64_t>(out.size()) >=
             packedBytes(static_cast<int64_t>(values.size()), bits) &&
         "output buffer too small");
  const uint64_t mask = (1u << bits) - 1u;
  uint64_t acc = 0;
  unsigned pending = 0; // bits held in acc
  size_t o = 0;
  if (order == BitOrder::LsbFirst) {
    for (uint8_t v : values) {
      acc |= (uint64_t(v) & mask) << pending;
      pending += bits;
      while (pending >= 8) {
        out[o++] = static_cast<uint8_t>(acc & 0xff);
        acc >>= 8;
        pending -= 8;
      }
    }
    if (pending)
      out[o++] = static_cast<uint8_t>(acc & 0xff);
  } else {
    for (uint8_t v : values) {
      acc = (acc << bits) | (uint64_t(v) & mask);
      pending += bits;
      while (pending >= 8) {
        out[o++] = static_cast<uint8_t>((acc >> (pending - 8)) & 0xff);
        pending -= 8;
      }
      acc &= (uint64_t(1) << pending) - 1;
    }
    if (pending)
      out[o++] = static_cast<uint8_t>((acc << (8 - pending)) & 0xff);
  }
}

void qtc::unpackBits(llvm::ArrayRef<uint8_t> packed, unsigned bits,
                          BitOrder order, llvm::MutableArrayRef<uint8_t> out) {
  assert(isValidPackedBitWidth(bits) && "bit width must be in [1, 8]");
  assert(static_cast<int64_t>(packed.size()) >=
             packedBytes(static_cast<int64_t>(out.size()), bits) &&
         "packed buffer too small");
  const uint64_t mask = (1u << bits) - 1u;
  uint64_t acc = 0;
  unsigned pending = 0;
  size_t in = 0;
  if (order == BitOrder::LsbFirst) {
    for (uint8_t &v : out) {
      while (pending < bits) {
        acc |= uint64_t(packed[in++]) << pending;
        pending += 8;
      }
      v = static_cast<uint8_t>(acc & mask);
      acc >>= bits;
      pending -= bits;
    }
  } else {
    for (uint8_t &v : out) {
      while (pending < bits) {
        acc = (acc << 8) | packed[in++];
        pending += 8;
      }
      v = static_cast<uint8_t>((acc >> (pending - bits)) & mask);
      pending -= bits;
      acc &= (uint64_t(1) << pending) - 1;
    }
  }
}

std::vector<uint8_t> qtc::packBits(llvm::ArrayRef<uint8_t> values,
                                        unsigned bits, BitOrder order) {
  std::vector<uint8_t> out(
      packedBytes(static_cast<int64_t>(values.size()), bits), 0);
  packBits(values, bits, order, out);
  return out;
}

std::vector<uint8_t> qtc::unpackBits(llvm::ArrayRef<uint8_t> packed,
                                          unsigned bits, size_t count,
                                          BitOrder order) {
  std::vector<uint8_t> out(count, 0);
  unpackBits(packed, bits, order, out);
  return out;
}

std::vector<uint8_t> qtc::packRows(llvm::ArrayRef<uint8_t> values,
                                        int64_t rows, int64_t cols,
                                        unsigned bits, BitOrder order) {
  assert(static_cast<int64_t>(values.size()) == rows * cols);
  const int64_t rowBytes = packedBytes(cols, bits);
  std::vector<uint8_t> out(rows * rowBytes, 0);
  for (int64_t r = 0; r < rows; ++r)
    packBits(values.slice(r * cols, cols), bits, order,
             llvm::MutableArrayRef<uint8_t>(out).slice(r * rowBytes, rowBytes));
  return out;
}

std::vector<uint8_t> qtc::unpackRows(llvm::ArrayRef<uint8_t> packed,
                                          int64_t rows, int64_t cols,
                                          unsigned bits, BitOrder order) {
  const int64_t rowBytes = packedBytes(cols, bits);
  assert(static_cast<int64_t>(packed.size()) >= rows * rowBytes);
  std::vector<uint8_t> out(rows * cols, 0);
  for (int64_t r = 0; r < rows; ++r)
    unpackBits(packed.slice(r * rowBytes, rowBytes), bits, order,
               llvm::MutableArrayRef<uint8_t>(out).slice(r * cols, cols));
  return out;
}

std::vector<uint8_t> qtc::repackRows(llvm::ArrayRef<uint8_t> packed,
                                          int64_t rows, int64_t cols,
                                          unsigned bits, BitOrder from,
                                          BitOrder to) {
  if (from == to)
    return std::vector<uint8_t>(packed.begin(),
                                packed.begin() + rows * packedBytes(cols, bits));
  return packRows(unpackRows(packed, rows, cols, bits, from), rows, cols, bits,
                  to);
}
