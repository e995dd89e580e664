//===- MatmulMatchers.h - What the matmul rewrites look for ------*- C++ -*-===//
//
// Shared by qt-fuse-dequant-matmul and qt-quantize-weights: both rewrite a
// linalg.matmul into qt.quantized_matmul, which has no accumulator, so the
// matmul must start from zero and read B as (k, n) or, through its indexing
// maps, as (n, k).
//
//===----------------------------------------------------------------------===//

#ifndef QTC_PASSES_MATMULMATCHERS_H
#define QTC_PASSES_MATMULMATCHERS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"

namespace mlir::qt {

/// True if `init` is a linalg.fill of constant zero (so the matmul does not
/// accumulate into earlier values).
inline bool isZeroFilled(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  return fill && (matchPattern(fill.getInputs()[0], m_AnyZeroFloat()) ||
                  matchPattern(fill.getInputs()[0], m_Zero()));
}

/// True if `op`'s maps are C[m, n] += A[m, k] * B[n, k] (`transposedB`) or
/// C[m, n] += A[m, k] * B[k, n], written out explicitly.
inline bool hasMatmulMaps(linalg::MatmulOp op, bool transposedB) {
  MLIRContext *ctx = op.getContext();
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  SmallVector<AffineMap> want = {
      AffineMap::get(3, 0, {m, k}, ctx),
      AffineMap::get(3, 0,
                     transposedB ? ArrayRef<AffineExpr>{n, k}
                                 : ArrayRef<AffineExpr>{k, n},
                     ctx),
      AffineMap::get(3, 0, {m, n}, ctx)};
  return op.getIndexingMapsArray() == want;
}

} // namespace mlir::qt

#endif // QTC_PASSES_MATMULMATCHERS_H
