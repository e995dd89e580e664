// Elementwise ops: numpy broadcasting, then one linalg.map each.
// RUN: python3 %S/make_model.py binary_broadcast %t.binary.onnx
// RUN: qtc-translate --import-onnx %t.binary.onnx | FileCheck %s --check-prefix=BIN
// RUN: python3 %S/make_model.py unary %t.unary.onnx
// RUN: qtc-translate --import-onnx %t.unary.onnx | FileCheck %s --check-prefix=UN
// RUN: python3 %S/make_model.py logic %t.logic.onnx
// RUN: qtc-translate --import-onnx %t.logic.onnx | FileCheck %s --check-prefix=LOGIC

// BIN-LABEL: func.func @main(%arg0: tensor<?x3x4xf32> {onnx.name = "x"}, %arg1: tensor<4xf32> {onnx.name = "y"})
// BIN: %[[B:.*]] = linalg.broadcast ins(%arg1 : tensor<4xf32>) outs(%{{.*}} : tensor<?x3x4xf32>) dimensions = [0, 1]
// BIN: %[[ADD:.*]] = linalg.map { arith.addf } ins(%arg0, %[[B]] : tensor<?x3x4xf32>, tensor<?x3x4xf32>)
// BIN: linalg.map { arith.subf }
// BIN: linalg.map { arith.mulf }
// BIN: linalg.map { arith.divf }
// BIN: linalg.map { math.powf }
// BIN: linalg.map { arith.maximumf }
// BIN: linalg.map { arith.minimumf }
// BIN: return %[[ADD]],

// UN-LABEL: func.func @main(%arg0: tensor<2x8xf16>
// UN: linalg.map { math.sqrt }
// UN: linalg.map { math.exp }
// UN: linalg.map { math.log }
// UN: linalg.map { math.erf }
// UN: linalg.map { math.tanh }
// Sigmoid: 1 / (1 + exp(-x)).
// UN: linalg.map ins(%arg0
// UN: arith.negf
// UN-NEXT: math.exp
// UN-NEXT: arith.addf
// UN-NEXT: arith.divf
// Relu: max(x, 0).
// UN: arith.maximumf %{{.*}}, %{{.*}} : f16
// UN: linalg.map { arith.negf }
// UN: arith.divf %{{.*}}, %in : f16
// UN: linalg.map { math.absf }

// LOGIC-LABEL: func.func @main(
// LOGIC-SAME: -> (tensor<2x4xi1> {onnx.name = "both"}, tensor<2x4xf16> {onnx.name = "back"})
// [1, 4] broadcasts to [2, 4] by dropping the unit dim first.
// LOGIC: tensor.collapse_shape %arg1 {{\[\[}}0, 1]] : tensor<1x4xf32> into tensor<4xf32>
// LOGIC: %[[EQ:.*]] = linalg.map { arith.cmpf {predicate = 1 : i64} }
// LOGIC: %[[LT:.*]] = linalg.map { arith.cmpf {predicate = 4 : i64} }
// LOGIC: linalg.map { arith.cmpf {predicate = 2 : i64} }
// LOGIC: %[[NE:.*]] = linalg.map ins(%[[EQ]] : tensor<2x4xi1>)
// LOGIC: arith.xori
// LOGIC: %[[BOTH:.*]] = linalg.map { arith.andi } ins(%[[LT]], %[[NE]]
// LOGIC: %[[SEL:.*]] = linalg.map { arith.select } ins(%[[BOTH]], %arg0,
// LOGIC: %[[I:.*]] = linalg.map { arith.fptosi } ins(%[[SEL]] : tensor<2x4xf32>) outs(%{{.*}} : tensor<2x4xi32>)
// LOGIC: %[[H:.*]] = linalg.map { arith.sitofp } ins(%[[I]] : tensor<2x4xi32>) outs(%{{.*}} : tensor<2x4xf16>)
// LOGIC: return %[[BOTH]], %[[H]]
