// Fused ops: ai.onnx Attention / RotaryEmbedding (opset 23) and the
// onnxruntime contrib ops int4 LLM exports use.
// RUN: python3 %S/make_model.py attention23 %t.att.onnx
// RUN: qtc-translate --import-onnx %t.att.onnx | FileCheck %s --check-prefix=ATT
// RUN: python3 %S/make_model.py rotary23 %t.rope.onnx
// RUN: qtc-translate --import-onnx %t.rope.onnx | FileCheck %s --check-prefix=ROPE
// RUN: python3 %S/make_model.py contrib_norms %t.norms.onnx
// RUN: qtc-translate --import-onnx %t.norms.onnx | FileCheck %s --check-prefix=NORMS
// RUN: python3 %S/make_model.py contrib_attention %t.catt.onnx
// RUN: qtc-translate --import-onnx %t.catt.onnx | FileCheck %s --check-prefix=CATT
// RUN: python3 %S/make_model.py misc_ops %t.misc.onnx
// RUN: qtc-translate --import-onnx %t.misc.onnx | FileCheck %s --check-prefix=MISC

// ATT-LABEL: func.func @main(
// ATT: qt.attention %arg0, %arg1, %arg2 mask(%arg3 : tensor<2x5xi1>) cache(%arg4, %arg5 : tensor<1x2x3x16xf32>, tensor<1x2x3x16xf32>) {causal, scale = 2.500000e-01 : f32}
// ATT-SAME: -> tensor<1x4x2x16xf32>, tensor<1x2x5x16xf32>, tensor<1x2x5x16xf32>

// [B, S, 32] with 2 heads: split, rotate interleaved pairs, merge back.
// ROPE-LABEL: func.func @main(%arg0: tensor<1x?x32xf32> {onnx.name = "x"}, %arg1: tensor<1x?xi64> {onnx.name = "pos"})
// ROPE: tensor.reshape %arg0{{.*}} -> tensor<1x?x2x16xf32>
// ROPE: qt.rotary_embedding %{{.*}}, %{{.*}}, %{{.*}} positions(%arg1 : tensor<1x?xi64>) {interleaved} : tensor<1x2x?x16xf32>, tensor<32x8xf32>, tensor<32x8xf32>
// ROPE: -> tensor<1x?x32xf32>

// NORMS-LABEL: func.func @main(
// NORMS: %[[RMS:.*]] = qt.rms_norm %arg0, %[[G:.*]] : tensor<?x?x16xf32>, tensor<16xf32>
// Skip variants add the residual first and return the sum as output 3.
// NORMS: %[[SUM:.*]] = linalg.map { arith.addf } ins(%arg0, %arg1
// NORMS: %[[SRMS:.*]] = qt.rms_norm %[[SUM]], %[[G]]
// NORMS: linalg.map ins(%arg0, %arg1, %{{.*}} :
// NORMS: %[[SLN:.*]] = qt.layer_norm %{{.*}}, %[[G]], %{{.*}} {epsilon = 9.99999996E-13 : f32}
// NORMS: %[[FG:.*]] = qt.gelu %{{.*}} {approximation = #qt.gelu_approximation<tanh>}
// NORMS: return %[[RMS]], %[[SRMS]], %[[SUM]], %[[SLN]], %[[FG]]

// GroupQueryAttention: packed QKV sliced into 4 + 2 + 2 heads of 16, rotary
// at positions seqlens_k + 1 - S + s, a key mask from seqlens_k, the cache.
// CATT-LABEL: func.func @main(
// CATT: tensor.extract_slice %arg0[0, 0, 0] [1, 2, 64]
// CATT: tensor.extract_slice %arg0[0, 0, 64] [1, 2, 32]
// CATT: tensor.extract_slice %arg0[0, 0, 96] [1, 2, 32]
// CATT: %[[POS:.*]] = linalg.generic {{.*}} ins(%arg3 : tensor<1xi32>)
// CATT: %[[RQ:.*]] = qt.rotary_embedding %{{.*}}, %{{.*}}, %{{.*}} positions(%[[POS]] : tensor<1x2xi64>) : tensor<1x4x2x16xf32>
// CATT: %[[RK:.*]] = qt.rotary_embedding %{{.*}}, %{{.*}}, %{{.*}} positions(%[[POS]] : tensor<1x2xi64>) : tensor<1x2x2x16xf32>
// CATT: %[[MASK:.*]] = linalg.generic {{.*}} ins(%arg3 : tensor<1xi32>) outs(%{{.*}} : tensor<1x1x1x5xi1>)
// CATT: qt.attention %[[RQ]], %[[RK]], %{{.*}} mask(%[[MASK]] : tensor<1x1x1x5xi1>) cache(%arg1, %arg2 : {{.*}}) {causal}
// CATT-SAME: -> tensor<1x4x2x16xf32>, tensor<1x2x5x16xf32>, tensor<1x2x5x16xf32>
// MultiHeadAttention (unidirectional) and contrib RotaryEmbedding.
// CATT: qt.attention %{{.*}}, %{{.*}}, %{{.*}} {causal} : tensor<1x2x?x16xf32>
// CATT: qt.rotary_embedding %{{.*}} positions(%arg8 : tensor<1x?xi64>)

// MISC-LABEL: func.func @main(%arg0: tensor<2x3xf32> {onnx.name = "x"}, %arg1: tensor<1xf16> {onnx.name = "like"})
// MISC-SAME: -> (tensor<2x3xf16> {onnx.name = "as_half"}, tensor<i64> {onnx.name = "n"}, tensor<2x3xf32> {onnx.name = "plus_c"})
// MISC: linalg.map { arith.truncf } ins(%arg0 : tensor<2x3xf32>) outs(%{{.*}} : tensor<2x3xf16>)
// Size is known: 6.
// MISC: %[[SIX:.*]] = arith.constant 6 : i64
// MISC: tensor.from_elements %[[SIX]] : tensor<i64>
