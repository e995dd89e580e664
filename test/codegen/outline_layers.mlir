// qt-outline-layers: the ops of each layer (named by their locations'
// `layers.N` component) move into a private function called in their
// place; layers that print the same share one function; large constants
// (resources) are passed in, small ones and data-independent ops
// (tensor.empty, fills) are cloned in.
// RUN: qtc-opt %s --qt-outline-layers=report=true --split-input-file -o /dev/null 2>&1 | FileCheck %s
// RUN: qtc-opt %s --qt-outline-layers --split-input-file 2>&1 | FileCheck %s --check-prefix=IR

// CHECK: remark: qt-outline-layers: 3 layers outlined into 1 functions
// CHECK: remark: qt-outline-layers: 2 layers outlined into 2 functions
// CHECK: remark: {{.*}}qt-outline-layers: 'qt.gelu' of model.layers.1 lies between ops of model.layers.0; nothing outlined

// IR-LABEL: func.func private @model_layers_0(
// IR-SAME: %[[X:.*]]: tensor<4x8xf32>, %[[W:.*]]: tensor<8x8xf32>) -> tensor<4x8xf32>
// IR-SAME: passthrough = ["noinline"]
// IR-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// IR-DAG: %[[EMPTY:.*]] = tensor.empty() : tensor<4x8xf32>
// IR: %[[FILL:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[EMPTY]]
// IR: %[[MM:.*]] = linalg.matmul ins(%[[X]], %[[W]] : {{.*}}) outs(%[[FILL]]
// IR: %[[G:.*]] = qt.gelu %[[MM]]
// IR: return %[[G]]
// IR-NOT: func.func private
// IR-LABEL: func.func @main(
// IR: %[[W0:.*]] = arith.constant dense_resource<w0>
// IR: %[[W1:.*]] = arith.constant dense_resource<w1>
// IR: %[[W2:.*]] = arith.constant dense_resource<w2>
// IR: %[[H1:.*]] = call @model_layers_0(%arg0, %[[W0]])
// IR: %[[H2:.*]] = call @model_layers_0(%[[H1]], %[[W1]])
// IR: %[[H3:.*]] = call @model_layers_0(%[[H2]], %[[W2]])
// IR: %[[OUT:.*]] = qt.silu %[[H3]]
// IR: return %[[OUT]]
func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w0 = arith.constant dense_resource<w0> : tensor<8x8xf32>
  %w1 = arith.constant dense_resource<w1> : tensor<8x8xf32>
  %w2 = arith.constant dense_resource<w2> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<4x8xf32> loc("model.layers.0.fc")
  // CSE leaves one fill for every layer, with layer 0's location.
  %fill = linalg.fill ins(%zero : f32) outs(%empty : tensor<4x8xf32>) -> tensor<4x8xf32> loc("model.layers.0.fc")
  %m0 = linalg.matmul ins(%x, %w0 : tensor<4x8xf32>, tensor<8x8xf32>) outs(%fill : tensor<4x8xf32>) -> tensor<4x8xf32> loc("model.layers.0.fc")
  %h1 = qt.gelu %m0 : tensor<4x8xf32> loc("model.layers.0.act")
  %m1 = linalg.matmul ins(%h1, %w1 : tensor<4x8xf32>, tensor<8x8xf32>) outs(%fill : tensor<4x8xf32>) -> tensor<4x8xf32> loc("model.layers.1.fc")
  %h2 = qt.gelu %m1 : tensor<4x8xf32> loc("model.layers.1.act")
  %m2 = linalg.matmul ins(%h2, %w2 : tensor<4x8xf32>, tensor<8x8xf32>) outs(%fill : tensor<4x8xf32>) -> tensor<4x8xf32> loc("model.layers.2.fc")
  %h3 = qt.gelu %m2 : tensor<4x8xf32> loc("model.layers.2.act")
  %out = qt.silu %h3 : tensor<4x8xf32> loc("model.norm")
  return %out : tensor<4x8xf32>
}

// -----

// Layers that differ (here: the last has another activation) get
// functions of their own; layers of ONNX exports are named by path.
// IR-LABEL: func.func private @model_layers_0(
// IR: qt.gelu
// IR-LABEL: func.func private @model_layers_1(
// IR: qt.silu
// IR-LABEL: func.func @main(
// IR: call @model_layers_0(
// IR: call @model_layers_1(
func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %a = qt.gelu %x : tensor<4x8xf32> loc("/model/layers.0/act/Gelu")
  %b = qt.silu %a : tensor<4x8xf32> loc("/model/layers.1/act/Mul")
  return %b : tensor<4x8xf32>
}

// -----

// Interleaved layers (an op of layer 1 between two of layer 0) are left
// alone: spans of a block are outlined only when they are contiguous.
// IR-LABEL: func.func @main(
// IR-NOT: call
func.func @main(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %a = qt.gelu %x : tensor<4x8xf32> loc("model.layers.0.a")
  %b = qt.gelu %x : tensor<4x8xf32> loc("model.layers.1.a")
  %c = qt.silu %a : tensor<4x8xf32> loc("model.layers.0.b")
  %d = qt.silu %b : tensor<4x8xf32> loc("model.layers.1.b")
  return %c, %d : tensor<4x8xf32>, tensor<4x8xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w0: "0x04000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
      w1: "0x04000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
      w2: "0x04000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    }
  }
#-}
