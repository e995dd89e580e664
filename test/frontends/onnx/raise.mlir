// Decompositions exporters write are raised into one qt op each.
// RUN: python3 %S/make_model.py decomposed %t.onnx
// RUN: qtc-translate --import-onnx %t.onnx | FileCheck %s --implicit-check-not=linalg.map --implicit-check-not=linalg.softmax

// CHECK-LABEL: func.func @main(%arg0: tensor<?x4x16xf32> {onnx.name = "x"}
// CHECK: %[[G:.*]] = arith.constant dense<[5.000000e-01, {{.*}}]> : tensor<16xf32>
// CHECK: %[[RMS:.*]] = qt.rms_norm %arg0, %[[G]] {epsilon = 9.99999974E-6 : f32} : tensor<?x4x16xf32>, tensor<16xf32>
// CHECK: %[[GELU:.*]] = qt.gelu %arg0 : tensor<?x4x16xf32>
// CHECK: %[[TANH:.*]] = qt.gelu %arg0 {approximation = #qt.gelu_approximation<tanh>} : tensor<?x4x16xf32>
// CHECK: %[[SILU:.*]] = qt.silu %arg0 : tensor<?x4x16xf32>
// k^T is transposed back to [b, h, t, d] for qt.attention; the scale is
// the multiplier the graph applied (1 / sqrt(8)).
// CHECK: %[[K:.*]] = linalg.transpose ins(%arg2 : tensor<?x2x8x4xf32>) outs(%{{.*}} : tensor<?x2x4x8xf32>) permutation = [0, 1, 3, 2]
// CHECK: %[[ATT:.*]] = qt.attention %arg1, %[[K]], %arg3 mask(%arg4 : tensor<?x1x4x4xf32>) {scale = 0.353553385 : f32}
// CHECK: return %[[RMS]], %[[GELU]], %[[TANH]], %[[SILU]], %[[ATT]]
