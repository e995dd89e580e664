// qtc compile --strict-fp: no reassociated sums (no vector reductions of
// the register-blocked kernels) and libm's erf/exp instead of polynomial
// approximations; both ways the fixtures match onnxruntime (strict_fp.py).
// RUN: rm -rf %t && mkdir -p %t
// RUN: python3 %S/strict_fp.py %qtc_bin %S/../../frontends/onnx/fixtures %t | FileCheck %s
// CHECK-NOT: MISMATCH
// CHECK: 14 passed, 0 failed

// RUN: qtc compile --quiet %S/../../frontends/onnx/fixtures/bert_tiny.onnx --dim batch=2 --dim sequence=7 --emit llvm-mlir -o %t/fast.mlir
// RUN: qtc compile --quiet %S/../../frontends/onnx/fixtures/bert_tiny.onnx --dim batch=2 --dim sequence=7 --strict-fp --emit llvm-mlir -o %t/strict.mlir
// RUN: FileCheck %s --check-prefix=FAST < %t/fast.mlir
// RUN: FileCheck %s --check-prefix=STRICT < %t/strict.mlir
// FAST-NOT: llvm.call @erff
// FAST-NOT: llvm.call @expf
// FAST: llvm.intr.fma
// STRICT-DAG: llvm.call @erff
// STRICT-DAG: llvm.call @expf
