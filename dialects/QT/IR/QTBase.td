//===- QTBase.td - qt dialect definition -------------------*- tablegen -*-===//
//
// The quantized-transformer dialect: what upstream MLIR lacks to describe
// quantized transformer graphs (packed low-bit weights with tensor-valued
// group scales, fused quantized matmul, normalization, attention with a KV
// cache, rotary embeddings). Everything else is upstream: func, arith, math,
// tensor, linalg, and quant for static activation quantization.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_DIALECT_QT_BASE
#define QTC_DIALECT_QT_BASE

include "mlir/IR/OpBase.td"

def QT_Dialect : Dialect {
  let name = "qt";
  let cppNamespace = "::mlir::qt";
  let summary = "Quantized transformer operations";
  let description = [{
    The `qt` dialect holds the operations of quantized transformer models that
    upstream MLIR has no single op for. Ops work on ranked tensors and keep
    quantized weights packed: a packed weight is a `tensor<N x B x i8>` of
    bytes (one row per output channel, B = ceil(K * bits / 8)) whose meaning
    is given by a `#qt.packed` format attribute on the op that reads it,
    together with tensor-valued per-group scales and optional zero points.

    Static per-tensor, per-axis and sub-channel activation quantization uses
    upstream `!quant.uniform` types with `quant.qcast` / `quant.dcast`; `qt`
    is for what those types cannot express (scales known only as tensors,
    packing of sub-byte codes, scales computed at run time).
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let extraClassDeclaration = [{
    /// Adds the dialect's attributes (defined in QTAttrs.cpp, next to their
    /// storage classes).
    void registerAttributes();
  }];
}

class QT_Op<string mnemonic, list<Trait> traits = []>
    : Op<QT_Dialect, mnemonic, traits>;

#endif // QTC_DIALECT_QT_BASE
