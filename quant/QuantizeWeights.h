//===- QuantizeWeights.h - Compile-time weight quantization -----*- C++ -*-===//
//
// The pieces of `qt-quantize-weights` that the driver's mixed-precision
// search reuses: finding the matmuls whose weight is a real-valued
// constant, reading that weight as an N x K matrix, and replacing the
// matmul by a `qt.quantized_matmul` over the quantized codes.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_QUANT_QUANTIZEWEIGHTS_H
#define QTC_QUANT_QUANTIZEWEIGHTS_H

#include "quant/Quantize.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <string>
#include <vector>

namespace mlir::qt {

/// Attribute on a linalg.matmul that overrides the pass's bit width for that
/// layer; a value of 16 or more keeps the layer real-valued.
constexpr const char *kWeightBitsAttr = "qt.weight_bits";

/// A linalg.matmul from a zero init whose B operand is a real-valued
/// constant: C[m, n] = sum_k A[m, k] * W[n, k] (transposedB: B is W, N x K)
/// or sum_k A[m, k] * B[k, n] (B is W^T, K x N).
struct WeightMatmul {
  mutable linalg::MatmulOp op; // handles; not part of the value
  mutable arith::ConstantOp weight;
  bool transposedB = false;
  int64_t n = 0, k = 0;
  /// The checkpoint / initializer name of the weight, else the op location.
  std::string name;
};

/// Every quantizable matmul under `root`, in IR order.
std::vector<WeightMatmul> findWeightMatmuls(Operation *root);

/// The weight as N x K floats (row n = output channel n); false when the
/// constant's data cannot be read.
bool readWeight(const WeightMatmul &m, std::vector<float> &nk);

/// Replaces `m.op` by a qt.quantized_matmul reading `q` (from `spec`).
/// With `inputScale` (K values s), `q` holds W * diag(s) and the
/// activations are divided by s first (activation-aware scaling), so the
/// product is unchanged up to quantization. With `salientColumns` (S column
/// indices, ascending), those columns of W are zero in `q` and come from
/// `salientWeight` (N x S, real-valued) in a second, small matmul over the
/// gathered activation columns, added to the result. With `rotation` (G x G,
/// G dividing K), `q` holds W * diag(s) * R per block of G columns and the
/// (scaled) activations are multiplied by R per block before the matmul.
void replaceWithQuantizedMatmul(const WeightMatmul &m,
                                const qtc::QuantizedMatrix &q,
                                const qtc::QuantSpec &spec,
                                llvm::ArrayRef<float> inputScale = {},
                                llvm::ArrayRef<int64_t> salientColumns = {},
                                llvm::ArrayRef<float> salientWeight = {},
                                llvm::ArrayRef<float> rotation = {});

/// Bytes of the packed codes, scales and zero points of an N x K weight.
int64_t quantizedBytes(int64_t n, int64_t k, const qtc::QuantSpec &spec);

} // namespace mlir::qt

#endif // QTC_QUANT_QUANTIZEWEIGHTS_H
