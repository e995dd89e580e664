//===- QTOps.h - qt dialect operations --------------------------*- C++ -*-===//

#ifndef QTC_DIALECTS_QT_IR_QTOPS_H
#define QTC_DIALECTS_QT_IR_QTOPS_H

#include "dialects/QT/IR/QTDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/QT/IR/QTOps.h.inc"

#endif // QTC_DIALECTS_QT_IR_QTOPS_H
