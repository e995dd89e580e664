//===- Passes.h - qtc's quantization passes ---------------------*- C++ -*-===//

#ifndef QTC_QUANT_PASSES_H
#define QTC_QUANT_PASSES_H

#include "dialects/QT/IR/QTDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir::qt {

#define GEN_PASS_DECL
#include "quant/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "quant/Passes.h.inc"

} // namespace mlir::qt

#endif // QTC_QUANT_PASSES_H
