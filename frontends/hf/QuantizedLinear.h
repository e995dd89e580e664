//===- QuantizedLinear.h - GPTQ and AWQ layers in qt's form -----*- C++ -*-===//
//
// Readers that turn one quantized linear layer of a GPTQ or AWQ checkpoint
// into qt's canonical packed form (`#qt.packed`, docs/architecture.md): one
// row of K codes per output channel, packed lsb_first along K, with N x G
// scales and zero points. The codes go from the checkpoint's int32 words to
// the packed rows directly; no real-valued copy of the weights is made.
//
// Meaning of the result, over the (possibly permuted) reduction index k':
//
//   w[n][k'] = (code[n][k'] - zp[n][k' / g]) * scale[n][k' / g]
//   y        = x[..., perm] . w^T       (perm = identity without act-order)
//
// See frontends/hf/README.md for the GPTQ and AWQ layouts.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_FRONTENDS_SAFETENSORS_QUANTIZEDLINEAR_H
#define QTC_FRONTENDS_SAFETENSORS_QUANTIZEDLINEAR_H

#include "frontends/hf/Checkpoint.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace qtc::safetensors {

/// One quantized linear layer in qt's canonical packed form.
struct PackedLinear {
  /// N and K.
  int64_t outFeatures = 0;
  int64_t inFeatures = 0;
  unsigned bits = 4;
  /// Codes per group along K; divides K (a single group is K).
  int64_t groupSize = 0;
  /// N rows of qtc::packedBytes(K, bits) bytes, codes lsb_first along K.
  std::vector<uint8_t> weights;
  /// N x G scales (G = K / groupSize), raw IEEE half bits.
  std::vector<uint16_t> scales;
  /// N x G unsigned zero points; absent when every one equals the implicit
  /// 2^(bits-1) of unsigned codes.
  std::optional<std::vector<uint8_t>> zeroPoints;
  /// Act-order: K input indices such that groups are contiguous; row n's
  /// k'-th code belongs to input feature inputPermutation[k']. Absent when
  /// it is the identity.
  std::optional<std::vector<int64_t>> inputPermutation;
  /// N biases, raw IEEE half bits.
  std::optional<std::vector<uint16_t>> bias;

  int64_t numGroups() const { return groupSize ? inFeatures / groupSize : 0; }
  int64_t rowBytes() const { return (inFeatures * bits + 7) / 8; }
};

/// Reads `<prefix>.qweight`, `.qzeros`, `.scales`, `.g_idx` (optional) and
/// `.bias` (optional) of an AutoGPTQ / GPTQModel QuantLinear: bits 2, 3, 4
/// or 8, checkpoint_format gptq (v1: zero points stored minus one) or
/// gptq_v2, any g_idx whose groups have group_size members each.
llvm::Expected<PackedLinear> readGPTQLinear(const Checkpoint &checkpoint,
                                            llvm::StringRef prefix,
                                            const QuantConfig &config);

/// Reads `<prefix>.qweight`, `.qzeros` (optional without zero_point),
/// `.scales` and `.bias` (optional) of an AutoAWQ WQLinear_GEMM: 4-bit codes
/// packed along N with the nibble order [0, 2, 4, 6, 1, 3, 5, 7].
llvm::Expected<PackedLinear> readAWQLinear(const Checkpoint &checkpoint,
                                           llvm::StringRef prefix,
                                           const QuantConfig &config);

/// Dispatches on config.method.
llvm::Expected<PackedLinear> readQuantizedLinear(const Checkpoint &checkpoint,
                                                 llvm::StringRef prefix,
                                                 const QuantConfig &config);

} // namespace qtc::safetensors

#endif // QTC_FRONTENDS_SAFETENSORS_QUANTIZEDLINEAR_H
