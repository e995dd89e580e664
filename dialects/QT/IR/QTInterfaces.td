//===- QTInterfaces.td - qt op interfaces ------------------*- tablegen -*-===//

#ifndef QTC_DIALECT_QT_INTERFACES
#define QTC_DIALECT_QT_INTERFACES

include "mlir/IR/OpBase.td"

def QT_PackedWeightsOpInterface : OpInterface<"PackedWeightsOpInterface"> {
  let cppNamespace = "::mlir::qt";
  let description = [{
    An op that reads a packed low-bit weight tensor described by a
    `#qt.packed` format: quantized matmul, dequantize, quantized embedding.
    Passes that change how weights are stored (repacking, precision choice,
    layout for a target) work through this interface.
  }];
  let methods = [
    InterfaceMethod<"The packed format, or null when the op is not quantized.",
      "::mlir::qt::PackedAttr", "getFormatAttr">,
    InterfaceMethod<"Replaces the packed format.",
      "void", "setFormatAttr", (ins "::mlir::qt::PackedAttr":$format)>,
    InterfaceMethod<"The operand holding the packed bytes.",
      "::mlir::OpOperand &", "getPackedWeightsMutable", (ins), [{}], [{
        return $_op.getWeightsMutable();
      }]>,
    InterfaceMethod<"The operand holding the zero points, if any.",
      "::mlir::MutableOperandRange", "getPackedZeroPointsMutable", (ins), [{}], [{
        return $_op.getZeroPointsMutable();
      }]>,
    InterfaceMethod<"Number of packed rows (output channels).",
      "int64_t", "getPackedRowCount">,
    InterfaceMethod<"Number of codes in each packed row (the K dimension).",
      "int64_t", "getPackedRowLength">,
  ];
}

#endif // QTC_DIALECT_QT_INTERFACES
