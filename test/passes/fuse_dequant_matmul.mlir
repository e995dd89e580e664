// RUN: qtc-opt %s --split-input-file --qt-fuse-dequant-matmul | FileCheck %s
// RUN: qtc-opt %s --split-input-file --qt-fuse-dequant-matmul=report --verify-diagnostics -o /dev/null

// dequantize -> transpose -> matmul from a zero init.
// CHECK-LABEL: func @transposed
// CHECK-NOT: qt.dequantize
// CHECK-NOT: linalg.matmul
// CHECK: %[[Y:.*]] = qt.quantized_matmul %arg0, %arg1, %arg2 zero_points(%arg3 : tensor<8x2xi8>) {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>} : tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x2xf16> -> tensor<4x8xf32>
// CHECK: return %[[Y]]
func.func @transposed(%x: tensor<4x64xf32>, %q: tensor<8x32xi8>, %s: tensor<8x2xf16>, %zp: tensor<8x2xi8>) -> tensor<4x8xf32> {
  %w = qt.dequantize %q, %s zero_points(%zp : tensor<8x2xi8>) {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
      : tensor<8x32xi8>, tensor<8x2xf16> -> tensor<8x64xf32>
  %e = tensor.empty() : tensor<64x8xf32>
  %wt = linalg.transpose ins(%w : tensor<8x64xf32>) outs(%e : tensor<64x8xf32>) permutation = [1, 0]
  %zero = arith.constant 0.0 : f32
  %i = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%i : tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = linalg.matmul ins(%x, %wt : tensor<4x64xf32>, tensor<64x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A matmul whose maps read B as (n, k), as the Hugging Face builders write.
#a = affine_map<(m, n, k) -> (m, k)>
#bt = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func @transposed_maps
// CHECK: qt.quantized_matmul %arg0, %arg1, %arg2 {format = #qt.packed<si8, group_size = 64, scale = f32>} : tensor<?x64xf32>, tensor<16x64xi8>, tensor<16x1xf32> -> tensor<?x16xf32>
// CHECK-NOT: qt.dequantize
func.func @transposed_maps(%x: tensor<?x64xf32>, %q: tensor<16x64xi8>, %s: tensor<16x1xf32>) -> tensor<?x16xf32> {
  %w = qt.dequantize %q, %s {format = #qt.packed<si8, group_size = 64, scale = f32>}
      : tensor<16x64xi8>, tensor<16x1xf32> -> tensor<16x64xf32>
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x64xf32>
  %zero = arith.constant 0.0 : f32
  %i = tensor.empty(%m) : tensor<?x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%i : tensor<?x16xf32>) -> tensor<?x16xf32>
  %y = linalg.matmul indexing_maps = [#a, #bt, #c] ins(%x, %w : tensor<?x64xf32>, tensor<16x64xf32>) outs(%z : tensor<?x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Accumulating into a non-zero init, and a weight that another op also
// reads: left alone, and reported.
// CHECK-LABEL: func @not_fused
// CHECK: qt.dequantize
// CHECK: linalg.matmul
func.func @not_fused(%x: tensor<4x64xf32>, %q: tensor<8x32xi8>, %s: tensor<8x2xf32>, %acc: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<8x64xf32>) {
  // expected-remark @+1 {{dequantize left unfused: used by func.return, linalg.transpose}}
  %w = qt.dequantize %q, %s {format = #qt.packed<ui4, group_size = 32, scale = f32>}
      : tensor<8x32xi8>, tensor<8x2xf32> -> tensor<8x64xf32>
  %e = tensor.empty() : tensor<64x8xf32>
  %wt = linalg.transpose ins(%w : tensor<8x64xf32>) outs(%e : tensor<64x8xf32>) permutation = [1, 0]
  %y = linalg.matmul ins(%x, %wt : tensor<4x64xf32>, tensor<64x8xf32>) outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y, %w : tensor<4x8xf32>, tensor<8x64xf32>
}
