//===- ConstantGlobals.cpp - Tensor constants' globals, in order ----------===//
//
// See qt-constant-globals in codegen/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Bufferization/Transforms/BufferUtils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::qt {
#define GEN_PASS_DEF_QTCONSTANTGLOBALS
#include "codegen/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;

namespace {
struct ConstantGlobalsPass
    : qt::impl::QTConstantGlobalsBase<ConstantGlobalsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<arith::ConstantOp> constants;
    getOperation().walk([&](arith::ConstantOp op) {
      if (isa<RankedTensorType>(op.getType()))
        constants.push_back(op);
    });
    SymbolTableCollection symbols;
    for (arith::ConstantOp op : constants)
      if (failed(bufferization::getGlobalFor(op, symbols, alignment)))
        return signalPassFailure();
  }
};
} // namespace
