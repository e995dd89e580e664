//===- QTDialect.cpp - qt dialect registration ----------------------------===//

#include "dialects/QT/IR/QTDialect.h"
#include "dialects/QT/IR/QTOps.h"

using namespace mlir;
using namespace mlir::qt;

#include "dialects/QT/IR/QTDialect.cpp.inc"
#include "dialects/QT/IR/QTInterfaces.cpp.inc"

void QTDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/QT/IR/QTOps.cpp.inc"
      >();
  registerAttributes();
}

Operation *QTDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                          Type type, Location loc) {
  return arith::ConstantOp::materialize(builder, value, type, loc);
}
