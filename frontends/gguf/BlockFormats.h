//===- BlockFormats.h - GGML tensor types and their block layouts -*- C++ -*-===//
//
// The tensor types a GGUF file may hold (ggml's `ggml_type`), their block
// sizes, and for the types qtc reads:
//  - a reference dequantizer, bit-exact with gguf-py's
//    `gguf.quants.dequantize` (the code llama.cpp's converter uses), for
//    tests and diagnostics only: compiled models never hold an fp32 copy of
//    a quantized weight;
//  - a lossless repacking into qt's canonical `#qt.packed` layout (codes
//    packed lsb-first along each row, one scale, and optionally one
//    zero point or min, per group), which the quantized matmul and
//    embedding kernels decode in registers.
//
// Depends on LLVM Support only.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_FRONTENDS_GGUF_BLOCKFORMATS_H
#define QTC_FRONTENDS_GGUF_BLOCKFORMATS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace qtc::gguf {

/// ggml's type ids as stored in a GGUF tensor info (`ggml_type`).
enum class GGMLType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8,
  Q8_1 = 9, Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14,
  Q8_K = 15, IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19,
  IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23, I8 = 24, I16 = 25,
  I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30, TQ1_0 = 34,
  TQ2_0 = 35, MXFP4 = 39,
};

/// Layout facts of one type.
struct TypeTraits {
  llvm::StringLiteral name;
  /// Elements per block (1 for plain types).
  int64_t blockSize;
  /// Bytes per block.
  int64_t typeSize;
  /// qtc can read it (dequantizeRow and repack accept it).
  bool supported;
};

/// The traits of `type`, or nullptr for an id ggml does not define.
const TypeTraits *typeTraits(uint32_t type);

/// Bytes of a row of `elements` elements of `type`, or an error when the
/// type is unknown or `elements` is not a whole number of blocks.
llvm::Expected<int64_t> rowBytes(uint32_t type, int64_t elements);

/// Decodes `src` (a whole number of blocks of `type`) into `dst`
/// (blocks * blockSize floats), exactly as gguf-py does: the same float
/// operations in the same order, so that results are bit-identical.
/// Errors on unsupported types and size mismatches.
llvm::Error dequantize(uint32_t type, llvm::ArrayRef<uint8_t> src,
                       llvm::MutableArrayRef<float> dst);

/// A matrix of `rows` x `cols` weights in qt's canonical packed form (see
/// `#qt.packed` in dialects/QT/IR/QTAttrs.td):
///
///   w[r, c] = (code[r, c] - zp) * scale[r, c / groupSize]      (no mins)
///   w[r, c] = code[r, c] * scale[r, g] + min[r, g]            (hasMin)
///   w[r, c] = levels[code[r, c]] * scale[r, g]                 (levels)
///
/// with zp the implicit zero point (0 for signed codes, 2^(bits-1) for
/// unsigned ones). Codes of a row are packed lsb-first into
/// ceil(cols * bits / 8) bytes.
struct PackedMatrix {
  unsigned bits = 4;
  bool signedCodes = false;
  int64_t groupSize = 32;
  /// Scales (and mins) are f32 when true, else f16 bit patterns.
  bool f32Scales = false;
  bool hasMin = false;
  /// Non-empty for grid formats (IQ4_NL, IQ4_XS): 2^bits increasing reals.
  std::vector<float> levels;
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> codes;  // rows * rowBytes()
  std::vector<uint8_t> scales; // rows * groups() * (f32Scales ? 4 : 2)
  std::vector<uint8_t> mins;   // same layout as scales, empty unless hasMin

  int64_t rowBytes() const { return (cols * bits + 7) / 8; }
  int64_t groups() const { return cols / groupSize; }
};

/// Repacks a `rows` x `cols` matrix stored as `type` (row-major, each row a
/// whole number of blocks) into the canonical form, losslessly: decoding
/// the result with the formulas above (each float operation rounded as
/// written, f16 scales widened to f32 first) reproduces dequantize() bit
/// for bit. Errors on F32/F16/BF16 (those are not packed), unsupported
/// types and size mismatches.
llvm::Expected<PackedMatrix> repack(uint32_t type, llvm::ArrayRef<uint8_t> src,
                                    int64_t rows, int64_t cols);

/// Decodes element (r, c) of a packed matrix with the formulas above, in
/// f32 (for tests and the importer's checks).
float decodePacked(const PackedMatrix &m, int64_t r, int64_t c);

} // namespace qtc::gguf

#endif // QTC_FRONTENDS_GGUF_BLOCKFORMATS_H
