//===- BitPacking.h - Low-bit integer packing helpers -----------*- C++ -*-===//
//
// Packing of 1- to 8-bit integer codes into bytes, the storage form of qt's
// packed weights (see `#qt.packed` in dialects/QT/IR/QTAttrs.td).
//
// Codes are stored as one bit stream per row; every row starts on a byte
// boundary and is ceil(cols * bits / 8) bytes long. Two bit orders exist:
//
//  * LsbFirst: code i occupies stream bits [i*bits, (i+1)*bits), bit j of the
//    stream is bit (j % 8) of byte (j / 8), and the code's least significant
//    bit comes first. This is what ONNX (INT4/UINT4, low nibble first),
//    onnxruntime's MatMulNBits and GPTQ (within each int32 word) write.
//  * MsbFirst: the stream is read from the most significant bit of each byte
//    down, and each code's most significant bit comes first (element 0 of a
//    4-bit pair is the high nibble).
//
// Codes wider than 4 bits and the 3-bit case straddle byte boundaries; both
// orders handle that.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_DIALECTS_QT_UTILS_BITPACKING_H
#define QTC_DIALECTS_QT_UTILS_BITPACKING_H

#include "llvm/ADT/ArrayRef.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qtc {

/// Order of codes inside the packed bit stream.
enum class BitOrder { LsbFirst, MsbFirst };

/// True when `bits` is a supported code width (1 to 8).
inline bool isValidPackedBitWidth(unsigned bits) {
  return bits >= 1 && bits <= 8;
}

/// Bytes needed to hold `count` codes of `bits` bits each (rounded up).
inline int64_t packedBytes(int64_t count, unsigned bits) {
  return (count * static_cast<int64_t>(bits) + 7) / 8;
}

/// Packs `values` (each in [0, 2^bits)) into `out`, which must hold
/// packedBytes(values.size(), bits) bytes. Bits above `bits` in a value are
/// ignored. Trailing bits of the last byte are zero.
void packBits(llvm::ArrayRef<uint8_t> values, unsigned bits, BitOrder order,
              llvm::MutableArrayRef<uint8_t> out);

/// Unpacks `out.size()` codes from `packed`, which must hold at least
/// packedBytes(out.size(), bits) bytes.
void unpackBits(llvm::ArrayRef<uint8_t> packed, unsigned bits, BitOrder order,
                llvm::MutableArrayRef<uint8_t> out);

/// Convenience forms returning a new buffer.
std::vector<uint8_t> packBits(llvm::ArrayRef<uint8_t> values, unsigned bits,
                              BitOrder order);
std::vector<uint8_t> unpackBits(llvm::ArrayRef<uint8_t> packed, unsigned bits,
                                size_t count, BitOrder order);

/// Row-wise forms: `rows` x `cols` codes, each row packed on its own into
/// packedBytes(cols, bits) bytes.
std::vector<uint8_t> packRows(llvm::ArrayRef<uint8_t> values, int64_t rows,
                              int64_t cols, unsigned bits, BitOrder order);
std::vector<uint8_t> unpackRows(llvm::ArrayRef<uint8_t> packed, int64_t rows,
                                int64_t cols, unsigned bits, BitOrder order);

/// Rewrites row-packed codes from one bit order to the other.
std::vector<uint8_t> repackRows(llvm::ArrayRef<uint8_t> packed, int64_t rows,
                                int64_t cols, unsigned bits, BitOrder from,
                                BitOrder to);

/// Interprets the low `bits` bits of `code` as a two's complement integer.
inline int32_t signExtend(uint32_t code, unsigned bits) {
  uint32_t mask = (bits >= 32) ? ~0u : ((1u << bits) - 1u);
  uint32_t value = code & mask;
  uint32_t sign = 1u << (bits - 1);
  return static_cast<int32_t>(value ^ sign) - static_cast<int32_t>(sign);
}

} // namespace qtc

#endif // QTC_DIALECTS_QT_UTILS_BITPACKING_H
