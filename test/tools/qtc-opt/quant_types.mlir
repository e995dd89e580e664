// qtc-opt carries upstream quant for static activation quantization: per-tensor,
// per-axis and sub-channel (blocked) !quant.uniform types next to qt ops
// (docs/architecture.md says which concept lives where).
// RUN: qtc-opt %s | qtc-opt | FileCheck %s

// CHECK-LABEL: func @static_qdq
// CHECK: quant.qcast %{{.*}} : tensor<4x64xf32> to tensor<4x64x!quant.uniform<i8:f32, 5.000000e-02:3>>
// CHECK: quant.dcast
func.func @static_qdq(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %q = quant.qcast %x : tensor<4x64xf32> to tensor<4x64x!quant.uniform<i8:f32, 0.05:3>>
  %d = quant.dcast %q : tensor<4x64x!quant.uniform<i8:f32, 0.05:3>> to tensor<4x64xf32>
  return %d : tensor<4x64xf32>
}
// CHECK-LABEL: func @per_axis
// CHECK: !quant.uniform<i8:f32:0, {5.000000e-01:1,2.500000e-01:-2}>
func.func @per_axis(%x: tensor<2x4xf32>) -> tensor<2x4x!quant.uniform<i8:f32:0, {0.5:1, 0.25:-2}>> {
  %q = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!quant.uniform<i8:f32:0, {0.5:1, 0.25:-2}>>
  return %q : tensor<2x4x!quant.uniform<i8:f32:0, {0.5:1, 0.25:-2}>>
}
// CHECK-LABEL: func @sub_channel
// CHECK: !quant.uniform<i4:f32:{0:1, 1:2}, {{[{][{]}}5.000000e-01:1, 2.500000e-01:2}, {1.250000e-01, 1.000000e+00:3}}>
func.func @sub_channel(%x: tensor<2x4xf32>) -> tensor<2x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{0.5:1, 0.25:2}, {0.125:0, 1.0:3}}>> {
  %q = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{0.5:1, 0.25:2}, {0.125:0, 1.0:3}}>>
  return %q : tensor<2x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{0.5:1, 0.25:2}, {0.125:0, 1.0:3}}>>
}
