//===- QTAttrs.td - qt dialect attributes ------------------*- tablegen -*-===//

#ifndef QTC_DIALECT_QT_ATTRS
#define QTC_DIALECT_QT_ATTRS

include "dialects/QT/IR/QTBase.td"
include "dialects/QT/IR/QTEnums.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

class QT_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<QT_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def QT_PackedAttr : QT_Attr<"Packed", "packed"> {
  let summary = "Format of a packed low-bit weight tensor";
  let description = [{
    Describes how a `tensor<N x B x i8>` of bytes holds an N x K matrix of
    low-bit weights (N output channels, K along the reduction dimension),
    and how its codes become real values:

      w[n, k] = (code[n, k] - zp[n, k / group_size]) * scale[n, k / group_size]

    - `code type`: `uiB` (unsigned codes) or `siB` (two's complement codes),
      B in 2..8 bits. Each row of K codes is packed into B = ceil(K * B / 8)
      bytes; a row starts on a byte boundary.
    - `group_size`: codes per scale along K; it divides K. Per-channel
      quantization is `group_size = K`.
    - `scale`: element type of the scales tensor (f32, f16 or bf16).
    - `zero_point`: present when the op takes an explicit zero-point tensor
      (asymmetric quantization). Without it the zero point is 0 for signed
      codes and 2^(B-1) for unsigned codes (symmetric).
    - `min`: codes are unsigned and the op's `zero_points` operand holds a
      real-valued minimum per group (of the scale type) that is added after
      scaling, instead of a zero point subtracted before it:

        w[n, k] = code[n, k] * scale[n, k / group_size] + min[n, k / group_size]

      llama.cpp's Q4_1, Q5_1, Q2_K, Q4_K and Q5_K blocks are such
      (`d * q + m`, `d * sc * q - dmin * m`); a real-valued zero point
      -min / scale would round.
    - `order`: bit order of codes in a row, `lsb_first` (default; ONNX,
      onnxruntime, GPTQ) or `msb_first`.
    - `levels` (optional): a non-uniform grid of 2^B reals in increasing
      order, one per code. Codes are then unsigned indices into it and
      there is no zero point:

        w[n, k] = levels[code[n, k]] * scale[n, k / group_size]

      NormalFloat 4 (QLoRA, bitsandbytes) and llama.cpp's IQ4_NL are such
      grids; on normally distributed weights (after a rotation, say) they
      lose less than 16 equally spaced levels.

    Example:

    ```mlir
    #qt.packed<ui4, group_size = 32, scale = f16, zero_point>
    #qt.packed<si8, group_size = 128, scale = f32, order = msb_first>
    #qt.packed<ui2, group_size = 64, scale = f16, levels = [-1.0, -0.25, 0.25, 1.0]>
    #qt.packed<ui4, group_size = 32, scale = f32, min>
    ```
  }];
  let parameters = (ins
    "::mlir::IntegerType":$codeType,
    "int64_t":$groupSize,
    "::mlir::Type":$scaleType,
    "bool":$hasZeroPoint,
    "::mlir::qt::BitOrder":$order,
    "::mlir::DenseF32ArrayAttr":$levels,
    "bool":$hasMin
  );
  let builders = [
    AttrBuilder<(ins "::mlir::IntegerType":$codeType, "int64_t":$groupSize,
                     "::mlir::Type":$scaleType, "bool":$hasZeroPoint,
                     "::mlir::qt::BitOrder":$order,
                     CArg<"::llvm::ArrayRef<float>", "{}">:$levels,
                     CArg<"bool", "false">:$hasMin), [{
      return $_get($_ctxt, codeType, groupSize, scaleType, hasZeroPoint,
                   order, levels.empty() ? ::mlir::DenseF32ArrayAttr()
                        : ::mlir::DenseF32ArrayAttr::get($_ctxt, levels),
                   hasMin);
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Code width in bits.
    unsigned getBits() const { return getCodeType().getWidth(); }
    bool isSignedCodes() const { return getCodeType().isSigned(); }
    /// True when the op takes a `zero_points` operand (zero points or mins).
    bool hasOffsets() const { return getHasZeroPoint() || getHasMin(); }
    /// The zero point used when the op has no zero-point tensor.
    int64_t getImplicitZeroPoint() const {
      return isSignedCodes() ? 0 : (int64_t(1) << (getBits() - 1));
    }
    /// Bytes per packed row of `rowLength` codes.
    int64_t getPackedRowBytes(int64_t rowLength) const {
      return (rowLength * int64_t(getBits()) + 7) / 8;
    }
    /// True when codes index a non-uniform grid (`levels`).
    bool hasLevels() const { return static_cast<bool>(getLevels()); }
    /// Same format with another zero-point setting or bit order.
    PackedAttr withZeroPoint(bool hasZeroPoint) const;
    PackedAttr withOrder(::mlir::qt::BitOrder order) const;
  }];
}

#endif // QTC_DIALECT_QT_ATTRS
