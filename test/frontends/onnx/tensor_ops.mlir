// Einsum and ScatterND.
// RUN: python3 %S/make_model.py einsum_scatter %t.onnx
// RUN: qtc-translate --import-onnx %t.onnx | FileCheck %s

// CHECK-LABEL: func.func @main(
// CHECK-SAME: -> (tensor<1x2x3x5xf32> {onnx.name = "scores"}, tensor<2x?x6xf32> {onnx.name = "proj"}, tensor<2x4xf32> {onnx.name = "summed"}, tensor<1x2x8x16xf32> {onnx.name = "updated"}, tensor<1x2x8x16xf32> {onnx.name = "accumulated"})
// bhqd,bhkd->bhqk: k is transposed to [b, h, d, k], then a batched matmul.
// CHECK: linalg.transpose ins(%arg1 : tensor<1x2x5x8xf32>) outs(%{{.*}} : tensor<1x2x8x5xf32>) permutation = [0, 1, 3, 2]
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<2x3x8xf32>, tensor<2x8x5xf32>)
// bsi,io->bso: b and s fold into M.
// CHECK: linalg.matmul ins(%{{.*}}, %arg3 : tensor<?x4xf32>, tensor<4x6xf32>)
// bsi->bi sums s.
// CHECK: linalg.reduce ins(%arg2 : tensor<2x?x4xf32>) outs(%{{.*}} : tensor<2x4xf32>) dimensions = [1]
// ScatterND: one scf.for over the index tuples.
// CHECK: scf.for {{.*}} iter_args(%[[ACC:.*]] = %arg4) -> (tensor<1x2x8x16xf32>)
// CHECK: tensor.extract %{{.*}} : tensor<1x3xi64>
// CHECK: tensor.insert_slice %{{.*}} into %[[ACC]][%{{.*}}, %{{.*}}, %{{.*}}, 0] [1, 1, 1, 16] [1, 1, 1, 1] : tensor<16xf32> into tensor<1x2x8x16xf32>
// reduction = add combines with the old slice first.
// CHECK: scf.for
// CHECK: linalg.map { arith.addf }
// CHECK: tensor.insert_slice
