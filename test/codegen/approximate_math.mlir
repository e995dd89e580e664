// qt-approximate-math: f32 erf, exp and tanh (scalars and vectors) become
// polynomial arithmetic with fused multiply-adds as LLVM intrinsics (not
// libm's fmaf); other types keep their math op.
// RUN: qtc-opt %s --qt-approximate-math | FileCheck %s
// Lowered, none of them is a libm call (their accuracy is checked against
// numpy through the JIT in codegen/e2e_numeric.mlir: gelu, silu, softmax).
// RUN: qtc-opt %s --qt-approximate-math --convert-vector-to-llvm --convert-math-to-libm --convert-math-to-llvm --convert-arith-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts | FileCheck %s --check-prefix=LOWERED

// CHECK-LABEL: func.func @f
// CHECK-NOT: math.erf
// CHECK-NOT: math.fma
// CHECK: llvm.intr.fma({{.*}}) : (f32, f32, f32) -> f32
// CHECK: llvm.intr.fma({{.*}}) : (vector<8xf32>, vector<8xf32>, vector<8xf32>) -> vector<8xf32>
// CHECK-NOT: math.tanh
// CHECK: math.exp %{{.*}} : f64
// LOWERED-NOT: llvm.call @erff
// LOWERED-NOT: llvm.call @fmaf
// LOWERED-NOT: llvm.call @expf
// LOWERED-NOT: llvm.call @tanhf
func.func @f(%x: f32, %v: vector<8xf32>) -> (f32, f32, vector<8xf32>, f64) {
  %a = math.erf %x : f32
  %b = math.exp %x : f32
  %c = math.tanh %v : vector<8xf32>
  %d0 = arith.extf %x : f32 to f64
  %d = math.exp %d0 : f64
  return %a, %b, %c, %d : f32, f32, vector<8xf32>, f64
}
