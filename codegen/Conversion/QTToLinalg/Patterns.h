//===- Patterns.h - qt -> linalg patterns, one file per op family -*- C++ -*-===//
//
// convert-qt-to-linalg's rewrite patterns, grouped by op family, and the
// decoding helpers they share (packed codes read inside loop bodies).
//
//===----------------------------------------------------------------------===//

#ifndef QTC_CODEGEN_CONVERSION_QTTOLINALG_PATTERNS_H
#define QTC_CODEGEN_CONVERSION_QTTOLINALG_PATTERNS_H

#include "dialects/QT/IR/QTOps.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir::qt {

/// qt.quantized_matmul, qt.dequantize, qt.embedding.
void populateQTMatmulToLinalgPatterns(RewritePatternSet &patterns);
/// qt.gelu, qt.silu, qt.rms_norm, qt.layer_norm, and linalg.softmax's
/// decomposition.
void populateQTElementwiseToLinalgPatterns(RewritePatternSet &patterns);
/// qt.attention, qt.rotary_embedding.
void populateQTAttentionToLinalgPatterns(RewritePatternSet &patterns);
/// qt.kv_quantize, qt.kv_dequantize.
void populateQTKVCacheToLinalgPatterns(RewritePatternSet &patterns);
/// qt.dynamic_quantize.
void populateQTDynamicQuantizeToLinalgPatterns(RewritePatternSet &patterns);

namespace detail {

/// Decodes code (row `n`, column `k`) of `weights` per `format` into a value
/// of `type`: unpack (two bytes read when a code may straddle), sign-extend
/// or not, subtract the zero point, multiply by the scale.
Value decodeWeight(OpBuilder &b, Location l, Value weights, Value n, Value k,
                   PackedAttr format, Value scale, Value zeroPoint, Type type);

/// Turns an unpacked code (i32, `bits` wide, not yet sign-extended) into a
/// value of `type`: sign-extend or not, subtract the zero point, scale.
Value scaleCode(OpBuilder &b, Location l, Value code, PackedAttr format,
                Value scale, Value zeroPoint, Type type);

/// Maps of the group-indexed operands: (n, k) -> (n, k floordiv group) in
/// the iteration space `dims` with n at `nDim` and k at `kDim`.
AffineMap groupMap(MLIRContext *ctx, unsigned dims, unsigned nDim,
                   unsigned kDim, int64_t group);

/// The body of a running range: yields (min(lo, v), max(hi, v)) with `v`
/// widened to f32.
void yieldRange(OpBuilder &b, Location l, Value v, Value lo, Value hi);

} // namespace detail
} // namespace mlir::qt

#endif // QTC_CODEGEN_CONVERSION_QTTOLINALG_PATTERNS_H
