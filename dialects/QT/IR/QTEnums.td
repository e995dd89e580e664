//===- QTEnums.td - qt dialect enums -----------------------*- tablegen -*-===//

#ifndef QTC_DIALECT_QT_ENUMS
#define QTC_DIALECT_QT_ENUMS

include "mlir/IR/EnumAttr.td"

// Order of low-bit codes inside the packed byte stream of each row.
def QT_BitOrder : I32EnumAttr<"BitOrder", "order of codes in a packed row", [
    // Code i occupies stream bits [i*bits, (i+1)*bits), least significant
    // bit first; element 0 of a 4-bit pair is the low nibble (ONNX INT4,
    // onnxruntime MatMulNBits, GPTQ within a word).
    I32EnumAttrCase<"LsbFirst", 0, "lsb_first">,
    // The stream runs from each byte's most significant bit down; element 0
    // of a 4-bit pair is the high nibble.
    I32EnumAttrCase<"MsbFirst", 1, "msb_first">
  ]> {
  let cppNamespace = "::mlir::qt";
  let genSpecializedAttr = 0;
}

// GELU formulation.
def QT_GeluApproximation : I32EnumAttr<"GeluApproximation",
    "formula used by qt.gelu", [
    // 0.5 * x * (1 + erf(x / sqrt(2)))
    I32EnumAttrCase<"None", 0, "none">,
    // 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))
    I32EnumAttrCase<"Tanh", 1, "tanh">
  ]> {
  let cppNamespace = "::mlir::qt";
  let genSpecializedAttr = 0;
}

def QT_GeluApproximationAttr
    : EnumAttr<QT_Dialect, QT_GeluApproximation, "gelu_approximation"> {
  let assemblyFormat = "`<` $value `>`";
}

#endif // QTC_DIALECT_QT_ENUMS
