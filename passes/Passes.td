//===- Passes.td - qtc's IR-level passes (normalization) ---------*- tablegen -*-===//

#ifndef QTC_PASSES_TD
#define QTC_PASSES_TD

include "mlir/Pass/PassBase.td"

def QTNormalizePacking : Pass<"qt-normalize-packing"> {
  let summary = "Rewrites constant packed weights into lsb_first bit order";
  let description = [{
    Backends read packed weights in one bit order, `lsb_first` (what ONNX,
    onnxruntime and GPTQ write). This pass repacks every constant packed
    weight tensor read by a `qt` op whose `#qt.packed` format says
    `msb_first`, and updates the format. The codes, and so the computed
    values, are unchanged. Weights that are not constants (function
    arguments, say) cannot be repacked at compile time and get a warning.

    Before (element 0 in the high nibble):

    ```mlir
    %w = arith.constant dense<[[18, 52]]> : tensor<1x2xi8>   // 0x12 0x34
    %y = qt.dequantize %w, %s {format = #qt.packed<ui4, group_size = 4,
        scale = f32, order = msb_first>} : ... -> tensor<1x4xf32>
    ```

    After (codes 1, 2, 3, 4 with element 0 in the low nibble):

    ```mlir
    %w = arith.constant dense<[[33, 67]]> : tensor<1x2xi8>   // 0x21 0x43
    %y = qt.dequantize %w, %s {format = #qt.packed<ui4, group_size = 4,
        scale = f32>} : ... -> tensor<1x4xf32>
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def QTFuseDequantMatmul : Pass<"qt-fuse-dequant-matmul"> {
  let summary = "Folds qt.dequantize feeding a matmul into qt.quantized_matmul";
  let description = [{
    A weight decoded by `qt.dequantize` and multiplied by `linalg.matmul`
    (through a `[1, 0]` transpose, or directly with B indexed `(n, k)`) from a
    zero-filled init becomes one `qt.quantized_matmul` that reads the packed
    bytes, so no real-valued copy of the weight is made. Other uses are left
    alone; with `report`, every `qt.dequantize` still in the IR afterwards
    gets a remark at its location (the model's node name).

    Before:

    ```mlir
    %w = qt.dequantize %q, %s {format = #qt.packed<ui4, group_size = 32, scale = f16>}
        : tensor<8x32xi8>, tensor<8x2xf16> -> tensor<8x64xf32>
    %wt = linalg.transpose ins(%w : tensor<8x64xf32>) outs(%e : tensor<64x8xf32>) permutation = [1, 0]
    %z = linalg.fill ins(%zero : f32) outs(%i : tensor<4x8xf32>) -> tensor<4x8xf32>
    %y = linalg.matmul ins(%x, %wt : tensor<4x64xf32>, tensor<64x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
    ```

    After:

    ```mlir
    %y = qt.quantized_matmul %x, %q, %s {format = #qt.packed<ui4, group_size = 32, scale = f16>}
        : tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x2xf16> -> tensor<4x8xf32>
    ```
  }];
  let dependentDialects = ["::mlir::qt::QTDialect",
                           "::mlir::linalg::LinalgDialect"];
  let options = [
    Option<"report", "report", "bool", /*default=*/"false",
           "Emit a remark for every qt.dequantize left unfused">
  ];
}

#endif // QTC_PASSES_TD
