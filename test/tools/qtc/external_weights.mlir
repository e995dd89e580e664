// qtc compile --weights external: weights in a memory-mapped side file
// (external_weights.py).
// RUN: rm -rf %t && mkdir -p %t
// RUN: python3 %S/external_weights.py %qtc_bin %S/../../frontends/onnx/fixtures %t | FileCheck %s
// CHECK-NOT: MISMATCH
// CHECK: 20 passed, 0 failed

// The library still needs libc only.
// RUN: ldd %t/ext.so | FileCheck %s --check-prefix=LDD
// LDD-NOT: omp
// LDD: libc.so
