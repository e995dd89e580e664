//===- QTToLinalg.h - pieces of the qt lowering other passes reuse -*- C++ -*-===//

#ifndef QTC_CODEGEN_CONVERSION_QTTOLINALG_H
#define QTC_CODEGEN_CONVERSION_QTTOLINALG_H

#include "dialects/QT/IR/QTOps.h"

namespace mlir::qt {

/// The result of `op` from `y`, its [rows, N] product before the bias: adds
/// the bias, restores the input's leading dims and casts to the op's type.
Value finishQuantizedMatmul(OpBuilder &b, QuantizedMatmulOp op, Value y);

} // namespace mlir::qt

#endif // QTC_CODEGEN_CONVERSION_QTTOLINALG_H
