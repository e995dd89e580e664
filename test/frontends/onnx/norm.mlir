// Normalization, softmax, reductions, Gelu and Trilu.
// RUN: python3 %S/make_model.py norms %t.onnx
// RUN: qtc-translate --import-onnx %t.onnx | FileCheck %s

// CHECK-LABEL: func.func @main(%arg0: tensor<?x4x16xf32> {onnx.name = "x"})
// CHECK-SAME: tensor<?x4x1xf32> {onnx.name = "mean"}, tensor<?x4xf32> {onnx.name = "max"}, tensor<?x4x1xf32> {onnx.name = "sum"}
// CHECK: %[[G:.*]] = arith.constant dense<[5.000000e-01, {{.*}}]> : tensor<16xf32>
// CHECK: %[[B:.*]] = arith.constant dense<[-1.000000e-01, {{.*}}]> : tensor<16xf32>
// CHECK: qt.layer_norm %arg0, %[[G]], %[[B]] {epsilon = 9.99999996E-13 : f32} : tensor<?x4x16xf32>, tensor<16xf32>, tensor<16xf32>
// CHECK: qt.rms_norm %arg0, %[[G]] : tensor<?x4x16xf32>, tensor<16xf32>
// CHECK: linalg.softmax dimension(2) ins(%arg0 : tensor<?x4x16xf32>)
// ReduceMean = sum / count, keepdims.
// CHECK: linalg.reduce ins(%arg0 : tensor<?x4x16xf32>) outs(%{{.*}} : tensor<?x4xf32>) dimensions = [2]
// CHECK: arith.addf
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 4, 1]
// CHECK: arith.divf
// ReduceMax without keepdims, from -inf.
// CHECK: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: linalg.fill ins(%[[NINF]] : f32)
// CHECK: arith.maximumf
// CHECK: qt.gelu %arg0 {approximation = #qt.gelu_approximation<tanh>} : tensor<?x4x16xf32>
// Trilu(upper = 0): keep j <= i.
// CHECK: linalg.generic
// CHECK: %[[I:.*]] = linalg.index 1 : index
// CHECK: %[[J:.*]] = linalg.index 2 : index
// CHECK: arith.cmpi sle, %[[J]], %{{.*}} : index
// CHECK: arith.select
