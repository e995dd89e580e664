// onnxruntime's quantize_dynamic models (DynamicQuantizeLinear +
// MatMulInteger) compile and match onnxruntime (dynamic_int8.py).
// RUN: rm -rf %t && mkdir -p %t
// RUN: python3 %S/dynamic_int8.py %qtc_bin %S/../../frontends/onnx/fixtures %t | FileCheck %s
// CHECK-NOT: MISMATCH
// CHECK: 17 passed, 0 failed
