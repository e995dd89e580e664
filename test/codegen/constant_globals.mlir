// qt-constant-globals gives every tensor constant its memref.global in
// program order (the names one-shot-bufferize would give them), so that
// bufferization reuses them whatever order it visits functions in; and
// the pipeline's output is the same on every run.
// RUN: qtc-opt %s --qt-constant-globals | FileCheck %s
// RUN: qtc-opt %s --qt-constant-globals --one-shot-bufferize=bufferize-function-boundaries | FileCheck %s --check-prefix=BUF

// CHECK-DAG: memref.global "private" constant @__constant_4xf32 : memref<4xf32> = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> {alignment = 64 : i64}
// CHECK-DAG: memref.global "private" constant @__constant_4xf32_0 : memref<4xf32> = dense<[5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00]> {alignment = 64 : i64}
// CHECK-DAG: memref.global "private" constant @__constant_2xi64 : memref<2xi64> = dense<[1, 2]> {alignment = 64 : i64}
// CHECK-LABEL: func.func private @first
// CHECK: arith.constant dense<[1.000000e+00

// Bufferization finds the globals: no second copy of any constant.
// BUF-COUNT-3: memref.global
// BUF-NOT: memref.global
// BUF-LABEL: func.func private @first
// BUF: memref.get_global @__constant_4xf32 :
// BUF-LABEL: func.func private @second
// BUF: memref.get_global @__constant_4xf32_0 :
// BUF: memref.get_global @__constant_2xi64 :
func.func private @first() -> tensor<4xf32> {
  %c = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  return %c : tensor<4xf32>
}
func.func private @second() -> (tensor<4xf32>, tensor<2xi64>) {
  %c = arith.constant dense<[5.0, 6.0, 7.0, 8.0]> : tensor<4xf32>
  %d = arith.constant dense<[1, 2]> : tensor<2xi64>
  %e = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  return %c, %d : tensor<4xf32>, tensor<2xi64>
}
