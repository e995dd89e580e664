// Round trip of every qt op through the custom and the generic form.
// RUN: qtc-opt %s --split-input-file | qtc-opt --split-input-file | FileCheck %s
// RUN: qtc-opt %s --split-input-file --mlir-print-op-generic | qtc-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func @quantized_matmul_asym
func.func @quantized_matmul_asym(%x: tensor<?x64xf32>, %w: tensor<128x32xi8>,
    %s: tensor<128x2xf16>, %zp: tensor<128x2xi8>, %b: tensor<128xf32>) -> tensor<?x128xf32> {
  // CHECK: qt.quantized_matmul %{{.*}}, %{{.*}}, %{{.*}} zero_points(%{{.*}} : tensor<128x2xi8>) bias(%{{.*}} : tensor<128xf32>)
  // CHECK-SAME: {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
  // CHECK-SAME: : tensor<?x64xf32>, tensor<128x32xi8>, tensor<128x2xf16> -> tensor<?x128xf32>
  %y = qt.quantized_matmul %x, %w, %s zero_points(%zp : tensor<128x2xi8>) bias(%b : tensor<128xf32>)
      {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
      : tensor<?x64xf32>, tensor<128x32xi8>, tensor<128x2xf16> -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

// 3-bit codes straddle bytes: 96 codes x 3 bits = 36 bytes a row.
// CHECK-LABEL: func @quantized_matmul_3bit_batched
func.func @quantized_matmul_3bit_batched(%x: tensor<2x5x96xbf16>, %w: tensor<16x36xi8>,
    %s: tensor<16x3xbf16>) -> tensor<2x5x16xbf16> {
  // CHECK: qt.quantized_matmul
  // CHECK-SAME: {format = #qt.packed<si3, group_size = 32, scale = bf16, order = msb_first>}
  %y = qt.quantized_matmul %x, %w, %s
      {format = #qt.packed<si3, group_size = 32, scale = bf16, order = msb_first>}
      : tensor<2x5x96xbf16>, tensor<16x36xi8>, tensor<16x3xbf16> -> tensor<2x5x16xbf16>
  return %y : tensor<2x5x16xbf16>
}

// -----

// A non-uniform grid: codes index `levels`, scaled per group (IQ4_NL-like).
// CHECK-LABEL: func @quantized_matmul_levels
func.func @quantized_matmul_levels(%x: tensor<3x64xf32>, %w: tensor<8x16xi8>,
    %s: tensor<8x2xf16>) -> tensor<3x8xf32> {
  // CHECK: qt.quantized_matmul
  // CHECK-SAME: {format = #qt.packed<ui2, group_size = 32, scale = f16, levels = [-1.000000e+00, -2.500000e-01, 3.125000e-01, 1.000000e+00]>}
  %y = qt.quantized_matmul %x, %w, %s
      {format = #qt.packed<ui2, group_size = 32, scale = f16, levels = [-1.0, -0.25, 0.3125, 1.0]>}
      : tensor<3x64xf32>, tensor<8x16xi8>, tensor<8x2xf16> -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// Real-valued zero points (onnxruntime MatMulNBits with float zero points).
// CHECK-LABEL: func @quantized_matmul_2bit_float_zp
func.func @quantized_matmul_2bit_float_zp(%x: tensor<1x128xf16>, %w: tensor<8x32xi8>,
    %s: tensor<8x1xf16>, %zp: tensor<8x1xf16>) -> tensor<1x8xf16> {
  // CHECK: zero_points(%{{.*}} : tensor<8x1xf16>)
  // CHECK-SAME: #qt.packed<ui2, group_size = 128, scale = f16, zero_point>
  %y = qt.quantized_matmul %x, %w, %s zero_points(%zp : tensor<8x1xf16>)
      {format = #qt.packed<ui2, group_size = 128, scale = f16, zero_point>}
      : tensor<1x128xf16>, tensor<8x32xi8>, tensor<8x1xf16> -> tensor<1x8xf16>
  return %y : tensor<1x8xf16>
}

// -----

// CHECK-LABEL: func @dequantize
func.func @dequantize(%w: tensor<32x64xi8>, %s: tensor<32x2xf32>, %zp: tensor<32x2xi8>)
    -> (tensor<32x128xf32>, tensor<32x64xf32>) {
  // CHECK: qt.dequantize %{{.*}}, %{{.*}} {format = #qt.packed<si4, group_size = 64, scale = f32>} : tensor<32x64xi8>, tensor<32x2xf32> -> tensor<32x128xf32>
  %a = qt.dequantize %w, %s {format = #qt.packed<si4, group_size = 64, scale = f32>}
      : tensor<32x64xi8>, tensor<32x2xf32> -> tensor<32x128xf32>
  // CHECK: qt.dequantize %{{.*}}, %{{.*}} zero_points(%{{.*}} : tensor<32x2xi8>) {format = #qt.packed<ui8, group_size = 32, scale = f32, zero_point>}
  %b = qt.dequantize %w, %s zero_points(%zp : tensor<32x2xi8>)
      {format = #qt.packed<ui8, group_size = 32, scale = f32, zero_point>}
      : tensor<32x64xi8>, tensor<32x2xf32> -> tensor<32x64xf32>
  return %a, %b : tensor<32x128xf32>, tensor<32x64xf32>
}

// -----

// CHECK-LABEL: func @embedding
func.func @embedding(%table: tensor<1000x64xf32>, %packed: tensor<1000x32xi8>,
    %s: tensor<1000x2xf16>, %zp: tensor<1000x2xi8>, %ids: tensor<1x8xi64>, %ids32: tensor<3xi32>)
    -> (tensor<1x8x64xf32>, tensor<3x64xf16>) {
  // CHECK: qt.embedding %{{.*}}[%{{.*}}] : tensor<1000x64xf32>, tensor<1x8xi64> -> tensor<1x8x64xf32>
  %e = qt.embedding %table[%ids] : tensor<1000x64xf32>, tensor<1x8xi64> -> tensor<1x8x64xf32>
  // CHECK: qt.embedding %{{.*}}[%{{.*}}] scales(%{{.*}} : tensor<1000x2xf16>) zero_points(%{{.*}} : tensor<1000x2xi8>)
  // CHECK-SAME: {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
  %q = qt.embedding %packed[%ids32] scales(%s : tensor<1000x2xf16>) zero_points(%zp : tensor<1000x2xi8>)
      {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
      : tensor<1000x32xi8>, tensor<3xi32> -> tensor<3x64xf16>
  return %e, %q : tensor<1x8x64xf32>, tensor<3x64xf16>
}

// -----

// CHECK-LABEL: func @dynamic_quantize
func.func @dynamic_quantize(%x: tensor<4x64xf32>, %y: tensor<?x64xf16>)
    -> (tensor<4x64xi8>, tensor<4x2xf32>, tensor<4x64xi8>, tensor<f32>, tensor<i8>,
        tensor<?x64xi8>, tensor<?x1xf32>) {
  // CHECK: qt.dynamic_quantize %{{.*}} {group_size = 32 : i64, symmetric} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x2xf32>
  %q, %s = qt.dynamic_quantize %x {group_size = 32, symmetric}
      : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x2xf32>
  // CHECK: qt.dynamic_quantize %{{.*}} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<f32>, tensor<i8>
  %q2, %s2, %zp = qt.dynamic_quantize %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<f32>, tensor<i8>
  // Per token: one group spans the row.
  // CHECK: qt.dynamic_quantize %{{.*}} {group_size = 64 : i64, symmetric} : tensor<?x64xf16> -> tensor<?x64xi8>, tensor<?x1xf32>
  %q3, %s3 = qt.dynamic_quantize %y {group_size = 64, symmetric}
      : tensor<?x64xf16> -> tensor<?x64xi8>, tensor<?x1xf32>
  return %q, %s, %q2, %s2, %zp, %q3, %s3 : tensor<4x64xi8>, tensor<4x2xf32>, tensor<4x64xi8>, tensor<f32>, tensor<i8>, tensor<?x64xi8>, tensor<?x1xf32>
}

// -----

// CHECK-LABEL: func @norms
func.func @norms(%x: tensor<1x8x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>)
    -> (tensor<1x8x64xf32>, tensor<1x8x64xf32>, tensor<1x8x64xf32>) {
  // CHECK: qt.rms_norm %{{.*}}, %{{.*}} {epsilon = 9.99999974E-6 : f32} : tensor<1x8x64xf32>, tensor<64xf32>
  %r = qt.rms_norm %x, %g {epsilon = 1.0e-05 : f32} : tensor<1x8x64xf32>, tensor<64xf32>
  // CHECK: qt.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 9.99999996E-13 : f32} : tensor<1x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  %l = qt.layer_norm %x, %g, %b {epsilon = 1.0e-12 : f32} : tensor<1x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  // Default epsilon, no bias.
  // CHECK: qt.layer_norm %{{.*}}, %{{.*}} : tensor<1x8x64xf32>, tensor<64xf32>
  %n = qt.layer_norm %x, %g : tensor<1x8x64xf32>, tensor<64xf32>
  return %r, %l, %n : tensor<1x8x64xf32>, tensor<1x8x64xf32>, tensor<1x8x64xf32>
}

// -----

// CHECK-LABEL: func @attention_prefill
func.func @attention_prefill(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>,
    %v: tensor<2x2x16x32xf32>, %pad: tensor<2x1x1x16xi1>) -> tensor<2x8x16x32xf32> {
  // CHECK: qt.attention %{{.*}}, %{{.*}}, %{{.*}} mask(%{{.*}} : tensor<2x1x1x16xi1>) {causal, scale = 1.250000e-01 : f32}
  // CHECK-SAME: : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  %o = qt.attention %q, %k, %v mask(%pad : tensor<2x1x1x16xi1>) {causal, scale = 0.125 : f32}
      : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return %o : tensor<2x8x16x32xf32>
}

// -----

// CHECK-LABEL: func @attention_decode_with_cache
func.func @attention_decode_with_cache(%q: tensor<1x4x1x16xf16>, %k: tensor<1x2x1x16xf16>,
    %v: tensor<1x2x1x16xf16>, %kc: tensor<1x2x?x16xf16>, %vc: tensor<1x2x?x16xf16>,
    %m: tensor<1x?xf16>)
    -> (tensor<1x4x1x16xf16>, tensor<1x2x?x16xf16>, tensor<1x2x?x16xf16>) {
  // CHECK: %{{.*}}, %{{.*}}, %{{.*}} = qt.attention %{{.*}}, %{{.*}}, %{{.*}} mask(%{{.*}} : tensor<1x?xf16>) cache(%{{.*}}, %{{.*}} : tensor<1x2x?x16xf16>, tensor<1x2x?x16xf16>) {causal}
  // CHECK-SAME: -> tensor<1x4x1x16xf16>, tensor<1x2x?x16xf16>, tensor<1x2x?x16xf16>
  %o, %pk, %pv = qt.attention %q, %k, %v mask(%m : tensor<1x?xf16>)
      cache(%kc, %vc : tensor<1x2x?x16xf16>, tensor<1x2x?x16xf16>) {causal}
      : tensor<1x4x1x16xf16>, tensor<1x2x1x16xf16>, tensor<1x2x1x16xf16>
      -> tensor<1x4x1x16xf16>, tensor<1x2x?x16xf16>, tensor<1x2x?x16xf16>
  return %o, %pk, %pv : tensor<1x4x1x16xf16>, tensor<1x2x?x16xf16>, tensor<1x2x?x16xf16>
}

// -----

// CHECK-LABEL: func @rotary
func.func @rotary(%x: tensor<1x4x8x16xf32>, %cos: tensor<128x8xf32>, %sin: tensor<128x8xf32>,
    %pos: tensor<1x8xi64>, %cos4: tensor<8x4xf32>, %sin4: tensor<8x4xf32>)
    -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>) {
  // CHECK: qt.rotary_embedding %{{.*}}, %{{.*}}, %{{.*}} positions(%{{.*}} : tensor<1x8xi64>) : tensor<1x4x8x16xf32>, tensor<128x8xf32>, tensor<128x8xf32>
  %a = qt.rotary_embedding %x, %cos, %sin positions(%pos : tensor<1x8xi64>)
      : tensor<1x4x8x16xf32>, tensor<128x8xf32>, tensor<128x8xf32>
  // Partial, interleaved rotation with implicit positions.
  // CHECK: qt.rotary_embedding %{{.*}}, %{{.*}}, %{{.*}} {interleaved, rotary_dim = 8 : i64} : tensor<1x4x8x16xf32>, tensor<8x4xf32>, tensor<8x4xf32>
  %b = qt.rotary_embedding %x, %cos4, %sin4 {interleaved, rotary_dim = 8}
      : tensor<1x4x8x16xf32>, tensor<8x4xf32>, tensor<8x4xf32>
  return %a, %b : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>
}

// -----

// CHECK-LABEL: func @activations
func.func @activations(%x: tensor<2x64xf32>, %h: tensor<3xbf16>, %s: f16)
    -> (tensor<2x64xf32>, tensor<2x64xf32>, tensor<3xbf16>, f16) {
  // CHECK: qt.gelu %{{.*}} : tensor<2x64xf32>
  %a = qt.gelu %x : tensor<2x64xf32>
  // CHECK: qt.gelu %{{.*}} {approximation = #qt.gelu_approximation<tanh>} : tensor<2x64xf32>
  %b = qt.gelu %x {approximation = #qt.gelu_approximation<tanh>} : tensor<2x64xf32>
  // CHECK: qt.silu %{{.*}} : tensor<3xbf16>
  %c = qt.silu %h : tensor<3xbf16>
  // CHECK: qt.silu %{{.*}} : f16
  %d = qt.silu %s : f16
  return %a, %b, %c, %d : tensor<2x64xf32>, tensor<2x64xf32>, tensor<3xbf16>, f16
}

// -----

// CHECK-LABEL: func @kv_cache
func.func @kv_cache(%kc: tensor<1x2x40x8xi8>, %ks: tensor<1x2x2x16xf16>,
                    %x: tensor<1x2x?x16xf32>, %vc: tensor<1x2x?x16xi8>,
                    %vs: tensor<1x2x?x1xf16>)
    -> (tensor<1x2x40x16xf32>, tensor<1x2x?x16xi8>, tensor<1x2x?x1xf16>, tensor<1x2x?x1xf16>) {
  // CHECK: qt.kv_dequantize %{{.*}}, %{{.*}}, %{{.*}} {bits = 4 : i64, group_size = 32 : i64, per_channel} : tensor<1x2x40x8xi8>, tensor<1x2x2x16xf16>, tensor<1x2x2x16xf16> -> tensor<1x2x40x16xf32>
  %k = qt.kv_dequantize %kc, %ks, %ks {bits = 4, group_size = 32, per_channel}
      : tensor<1x2x40x8xi8>, tensor<1x2x2x16xf16>, tensor<1x2x2x16xf16> -> tensor<1x2x40x16xf32>
  // CHECK: qt.kv_quantize %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {bits = 8 : i64, group_size = 16 : i64} : tensor<1x2x?x16xf32>, tensor<1x2x?x16xi8>, tensor<1x2x?x1xf16>, tensor<1x2x?x1xf16> -> tensor<1x2x?x16xi8>, tensor<1x2x?x1xf16>, tensor<1x2x?x1xf16>
  %c, %s, %m = qt.kv_quantize %x, %vc, %vs, %vs {bits = 8, group_size = 16}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xi8>, tensor<1x2x?x1xf16>, tensor<1x2x?x1xf16>
      -> tensor<1x2x?x16xi8>, tensor<1x2x?x1xf16>, tensor<1x2x?x1xf16>
  return %k, %c, %s, %m : tensor<1x2x40x16xf32>, tensor<1x2x?x16xi8>, tensor<1x2x?x1xf16>, tensor<1x2x?x1xf16>
}

// -----

// CHECK-LABEL: func @lookup
func.func @lookup(%t: vector<16xf32>, %i: vector<16xi32>) -> vector<16xf32> {
  // CHECK: qt.lookup %{{.*}}, %{{.*}} : vector<16xf32>, vector<16xi32>
  %r = qt.lookup %t, %i : vector<16xf32>, vector<16xi32>
  return %r : vector<16xf32>
}

// -----

// A format with mins (llama.cpp's Q4_1, Q4_K): w = code * scale + min.
// CHECK-LABEL: func.func @packed_min
// CHECK: #qt.packed<ui4, group_size = 32, scale = f32, min>
func.func @packed_min(%x: tensor<2x64xf32>, %w: tensor<8x32xi8>,
                      %s: tensor<8x2xf32>, %m: tensor<8x2xf32>) -> tensor<2x8xf32> {
  %y = qt.quantized_matmul %x, %w, %s zero_points(%m : tensor<8x2xf32>)
      {format = #qt.packed<ui4, group_size = 32, scale = f32, min>}
      : tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x2xf32> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// Sliding-window attention with soft-capped scores (Gemma 2).
// CHECK-LABEL: func.func @attention_window_softcap
// CHECK: qt.attention {{.*}} {causal, softcap = 5.000000e+01 : f32, window = 4 : i64}
func.func @attention_window_softcap(%q: tensor<1x4x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>) -> tensor<1x4x3x8xf32> {
  %o = qt.attention %q, %k, %v {causal, window = 4, softcap = 50.0 : f32}
      : tensor<1x4x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x4x3x8xf32>
  return %o : tensor<1x4x3x8xf32>
}
