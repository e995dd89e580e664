//===- QTDialect.h - qt dialect, attributes and interfaces ------*- C++ -*-===//

#ifndef QTC_DIALECTS_QT_IR_QTDIALECT_H
#define QTC_DIALECTS_QT_IR_QTDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpDefinition.h"

#include "dialects/QT/IR/QTDialect.h.inc"
#include "dialects/QT/IR/QTEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/QT/IR/QTAttrs.h.inc"

#include "dialects/QT/IR/QTInterfaces.h.inc"

#endif // QTC_DIALECTS_QT_IR_QTDIALECT_H
