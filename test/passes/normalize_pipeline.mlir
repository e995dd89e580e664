// The named pipeline runs exactly its stages, in order.
// RUN: qtc-opt %s --qt-normalize-pipeline --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=STAGES
// RUN: qtc-opt %s --qt-normalize-pipeline | FileCheck %s

// STAGES: Pass Manager with 4 passes:
// STAGES-NEXT: builtin.module(
// STAGES-NEXT: canonicalize{
// STAGES-NEXT: qt-normalize-packing,
// STAGES-NEXT: qt-fuse-dequant-matmul{{.*}},
// STAGES-NEXT: cse
// STAGES-NEXT: )

// Implicit zero points go (canonicalize), the weights are repacked into
// lsb_first order (qt-normalize-packing), and the two identical matmuls
// become one (cse).
// CHECK-LABEL: func @imported
// CHECK: %[[W:.*]] = arith.constant dense<{{\[\[}}33, 67]]> : tensor<1x2xi8>
// CHECK: %[[Y:.*]] = qt.quantized_matmul %{{.*}}, %[[W]], %{{.*}} {format = #qt.packed<ui4, group_size = 4, scale = f32>}
// CHECK-NOT: qt.quantized_matmul
// CHECK: return %[[Y]], %[[Y]]
func.func @imported(%x: tensor<2x4xf32>, %s: tensor<1x1xf32>) -> (tensor<2x1xf32>, tensor<2x1xf32>) {
  %w = arith.constant dense<[[18, 52]]> : tensor<1x2xi8>
  %zp = arith.constant dense<8> : tensor<1x1xi8>
  %a = qt.quantized_matmul %x, %w, %s zero_points(%zp : tensor<1x1xi8>)
      {format = #qt.packed<ui4, group_size = 4, scale = f32, zero_point, order = msb_first>}
      : tensor<2x4xf32>, tensor<1x2xi8>, tensor<1x1xf32> -> tensor<2x1xf32>
  %b = qt.quantized_matmul %x, %w, %s
      {format = #qt.packed<ui4, group_size = 4, scale = f32, order = msb_first>}
      : tensor<2x4xf32>, tensor<1x2xi8>, tensor<1x1xf32> -> tensor<2x1xf32>
  return %a, %b : tensor<2x1xf32>, tensor<2x1xf32>
}
