// Shape ops, and shape arithmetic followed at import time.
// RUN: python3 %S/make_model.py shape_ops %t.shape.onnx
// RUN: qtc-translate --import-onnx %t.shape.onnx | FileCheck %s
// RUN: python3 %S/make_model.py dynamic_reshape %t.dyn.onnx
// RUN: qtc-translate --import-onnx %t.dyn.onnx | FileCheck %s --check-prefix=DYN
// RUN: qtc-translate --import-onnx %t.dyn.onnx --dim batch=2 --dim seq=7 | FileCheck %s --check-prefix=BOUND
// RUN: qtc-translate --import-onnx %t.dyn.onnx --input-shape x=1,5,32 | FileCheck %s --check-prefix=SHAPE

// CHECK-LABEL: func.func @main(%arg0: tensor<2x3x4xf32> {onnx.name = "x"}, %arg1: tensor<3x1xf32> {onnx.name = "col"})
// CHECK-SAME: -> (tensor<6x4xf32> {onnx.name = "flat"}, tensor<2x3x4xf32> {onnx.name = "sq"}, tensor<2x3x6xf32> {onnx.name = "sliced"}, tensor<2x3x1xf32> {onnx.name = "s0"}, tensor<2x3x3xf32> {onnx.name = "s1"}, tensor<2x3x5xf32> {onnx.name = "expanded"}, tensor<2x3xf32> {onnx.name = "filled"}, tensor<5xi64> {onnx.name = "ident"})
// CHECK: tensor.reshape %arg0(%{{.*}}) : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<6x4xf32>
// CHECK: %[[U:.*]] = tensor.expand_shape %arg0 {{\[\[}}0], [1, 2], [3]] output_shape [2, 1, 3, 4]
// CHECK: tensor.collapse_shape %[[U]] {{\[\[}}0], [1, 2], [3]] : tensor<2x1x3x4xf32> into tensor<2x3x4xf32>
// CHECK: %[[CAT:.*]] = tensor.concat dim(2) %arg0, %arg0 : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x8xf32>
// CHECK: tensor.extract_slice %[[CAT]][0, 0, 1] [2, 3, 6] [1, 1, 1]
// CHECK: tensor.extract_slice %arg0[0, 0, 0] [2, 3, 1] [1, 1, 1]
// CHECK: tensor.extract_slice %arg0[0, 0, 1] [2, 3, 3] [1, 1, 1]
// CHECK: linalg.broadcast ins(%{{.*}} : tensor<3xf32>) outs(%{{.*}} : tensor<2x3x5xf32>) dimensions = [0, 2]
// CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: linalg.fill ins(%[[HALF]] : f32) outs(%{{.*}} : tensor<2x3xf32>)
// Range(0, 5, 1) is known at import time.
// CHECK: tensor.from_elements %{{.*}} : tensor<5xi64>

// Shape -> Gather -> Unsqueeze -> Concat -> Reshape keeps batch and seq
// dynamic and infers the -1 statically: 32 = 4 x 8.
// DYN-LABEL: func.func @main(%arg0: tensor<?x?x32xf32>
// DYN: %[[D0:.*]] = tensor.dim %arg0, %c0
// DYN: %[[D1:.*]] = tensor.dim %arg0, %c1
// DYN: tensor.reshape %arg0(%{{.*}}) : (tensor<?x?x32xf32>, tensor<4xi64>) -> tensor<?x?x4x8xf32>
// DYN: linalg.transpose ins(%{{.*}} : tensor<?x?x4x8xf32>) outs(%{{.*}} : tensor<?x4x?x8xf32>) permutation = [0, 2, 1, 3]

// BOUND: func.func @main(%arg0: tensor<2x7x32xf32>
// BOUND: tensor.reshape {{.*}} -> tensor<2x7x4x8xf32>
// BOUND: linalg.transpose {{.*}} outs(%{{.*}} : tensor<2x4x7x8xf32>)

// SHAPE: func.func @main(%arg0: tensor<1x5x32xf32>
// SHAPE-SAME: -> (tensor<1x4x5x8xf32>
