//===- Passes.td - qtc passes ------------------------------*- tablegen -*-===//

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

#endif // QTC_PASSES_TD
