// convert-qt-to-linalg is a dialect conversion: every qt op must be lowered
// (qt.int8_dot and qt.lookup excepted, which later stages lower), and an op
// no pattern can lower is an error naming it and its location, not an op
// silently left in the IR. Here: attention whose head counts are dynamic.
// RUN: not qtc-opt %s --convert-qt-to-linalg 2>&1 | FileCheck %s
// CHECK: qt_to_linalg_illegal.mlir:[[@LINE+5]]:8: error: failed to legalize operation 'qt.attention' that was explicitly marked illegal
func.func @dynamic_heads(%q: tensor<1x?x4x16xf32>, %k: tensor<1x?x4x16xf32>,
                         %v: tensor<1x?x4x16xf32>) -> tensor<1x?x4x16xf32> {
  %g = qt.gelu %q : tensor<1x?x4x16xf32>
  // The gelu above lowers; the attention cannot.
  %o = qt.attention %g, %k, %v {causal}
      : tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32> -> tensor<1x?x4x16xf32>
  return %o : tensor<1x?x4x16xf32>
}
