// MatMul and Gemm: leading dims fold into M, batch dims broadcast.
// RUN: python3 %S/make_model.py matmul_variants %t.onnx
// RUN: qtc-translate --import-onnx %t.onnx --mlir-elide-resource-strings-if-larger=8 | FileCheck %s

// CHECK-LABEL: func.func @main(%arg0: tensor<?x?x8xf32> {onnx.name = "x"}
// CHECK-SAME: -> (tensor<?x?x16xf32> {onnx.name = "proj"}, tensor<2x4x5x5xf32> {onnx.name = "scores"}, tensor<3x16xf32> {onnx.name = "gemm"}, tensor<3x16xf32> {onnx.name = "gemm_b"})
// CHECK: %[[W:.*]] = arith.constant dense_resource<w> : tensor<8x16xf32>
// [batch, seq, 8] x [8, 16]: collapse, matmul, expand back.
// CHECK: %[[A2:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<?x?x8xf32> into tensor<?x8xf32>
// CHECK: %[[MM:.*]] = linalg.matmul ins(%[[A2]], %[[W]] : tensor<?x8xf32>, tensor<8x16xf32>)
// CHECK: %[[PROJ:.*]] = tensor.expand_shape %[[MM]] {{\[\[}}0, 1], [2]] output_shape [%{{.*}}, %{{.*}}, 16]
// [2, 4, 5, 8] x [2, 1, 8, 5]: the unit batch dim of k broadcasts to 4.
// CHECK: linalg.broadcast ins(%{{.*}} : tensor<2x8x5xf32>) outs(%{{.*}} : tensor<2x4x8x5xf32>) dimensions = [1]
// CHECK: %[[BMM:.*]] = linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<8x5x8xf32>, tensor<8x8x5xf32>)
// CHECK: %[[SCORES:.*]] = tensor.expand_shape %[[BMM]] {{\[\[}}0, 1], [2], [3]] output_shape [2, 4, 5, 5]
// Gemm alpha = 0.5, no C.
// CHECK: %[[G:.*]] = linalg.matmul ins(%arg3, %[[W]] : tensor<3x8xf32>, tensor<8x16xf32>)
// CHECK: %[[GS:.*]] = linalg.map ins(%[[G]]
// CHECK: arith.mulf %in, %{{.*}} : f32
// Gemm transA, beta = 2 with C broadcast along rows, then the Add node.
// CHECK: %[[AT:.*]] = linalg.transpose ins(%arg4 : tensor<8x3xf32>) outs(%{{.*}} : tensor<3x8xf32>) permutation = [1, 0]
// CHECK: linalg.matmul ins(%[[AT]], %[[W]]
// CHECK: %[[GB:.*]] = linalg.map { arith.addf }
// CHECK: return %[[PROJ]], %[[SCORES]], %[[GS]], %[[GB]]
