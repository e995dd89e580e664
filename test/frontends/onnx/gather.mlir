// Gather: rows of a constant table become qt.embedding; anything else a
// linalg.generic that extracts with wrapped negative indices.
// RUN: python3 %S/make_model.py gathers %t.onnx
// RUN: qtc-translate --import-onnx %t.onnx --mlir-elide-resource-strings-if-larger=8 | FileCheck %s

// CHECK-LABEL: func.func @main(%arg0: tensor<?x?xi64> {onnx.name = "ids"}, %arg1: tensor<2x5x8xf32> {onnx.name = "x"})
// CHECK: %[[T:.*]] = arith.constant dense_resource<table> : tensor<100x16xf32>
// CHECK: qt.embedding %[[T]][%arg0] : tensor<100x16xf32>, tensor<?x?xi64> -> tensor<?x?x16xf32>
// CHECK: linalg.generic
// CHECK: arith.cmpi slt
// CHECK: arith.addi %{{.*}}, %c5 : index
// CHECK: tensor.extract %arg1[%{{.*}}, %{{.*}}, %{{.*}}] : tensor<2x5x8xf32>
// CHECK: -> tensor<2x8xf32>
