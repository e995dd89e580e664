// qt-emit-c-interface marks public functions with bodies for a C wrapper
// over memref descriptors; private functions (outlined layers) and
// declarations are left alone.
// RUN: qtc-opt %s --qt-emit-c-interface | FileCheck %s
// CHECK: func.func @main({{.*}}) -> tensor<4xf32> attributes {llvm.emit_c_interface}
// CHECK: func.func private @layer({{.*}}) -> tensor<4xf32> {
// CHECK: func.func private @external(tensor<4xf32>)
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = call @layer(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
func.func private @layer(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
func.func private @external(tensor<4xf32>)
