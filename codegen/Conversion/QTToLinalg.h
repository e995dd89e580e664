//===- QTToLinalg.h - qt -> linalg lowering ---------------------*- C++ -*-===//
//
// The qt ops' lowering to linalg on tensors (convert-qt-to-linalg), as
// patterns and a conversion target other passes can reuse, and the pieces of
// it the tiling pass shares.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_CODEGEN_CONVERSION_QTTOLINALG_H
#define QTC_CODEGEN_CONVERSION_QTTOLINALG_H

#include "dialects/QT/IR/QTOps.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir {
class ConversionTarget;
} // namespace mlir

namespace mlir::qt {

/// Every qt -> linalg pattern.
void populateQTToLinalgPatterns(RewritePatternSet &patterns);

/// The conversion's target: linalg, tensor, arith, math, scf, vector,
/// affine and bufferization legal; qt illegal except the ops later stages
/// lower (qt.int8_dot, qt.lookup); linalg.softmax illegal (decomposed).
void configureQTToLinalgTarget(ConversionTarget &target);

/// The result of `op` from `y`, its [rows, N] product before the bias: adds
/// the bias, restores the input's leading dims and casts to the op's type.
Value finishQuantizedMatmul(OpBuilder &b, QuantizedMatmulOp op, Value y);

} // namespace mlir::qt

#endif // QTC_CODEGEN_CONVERSION_QTTOLINALG_H
