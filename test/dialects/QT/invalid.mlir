// Verifier errors name the operand or attribute at fault; none crash.
// RUN: qtc-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{code width must be 2 to 8 bits, got 16 ('ui16')}}
func.func private @bad_bits() attributes {f = #qt.packed<ui16, group_size = 32, scale = f16>}

// -----

// expected-error @+1 {{code width must be 2 to 8 bits, got 1 ('si1')}}
func.func private @one_bit() attributes {f = #qt.packed<si1, group_size = 32, scale = f16>}

// -----

// expected-error @+1 {{code type 'i4' must say its signedness: ui<bits> or si<bits>}}
func.func private @signless_codes() attributes {f = #qt.packed<i4, group_size = 32, scale = f16>}

// -----

// expected-error @+1 {{group_size must be positive, got 0}}
func.func private @zero_group() attributes {f = #qt.packed<ui4, group_size = 0, scale = f16>}

// -----

// expected-error @+1 {{scale type must be f32, f16 or bf16, got 'i8'}}
func.func private @int_scale() attributes {f = #qt.packed<ui4, group_size = 32, scale = i8>}

// -----

// expected-error @+1 {{'levels' is given twice}}
func.func private @twice_levels() attributes {f = #qt.packed<ui2, group_size = 32, scale = f16, levels = [-1.0, 0.0], levels = [0.5, 1.0]>}

// -----

// expected-error @+1 {{levels must hold 2^2 = 4 values for 'ui2' codes, got 3}}
func.func private @few_levels() attributes {f = #qt.packed<ui2, group_size = 32, scale = f16, levels = [-1.0, 0.0, 1.0]>}

// -----

// expected-error @+1 {{codes that index levels must be unsigned (ui2), got 'si2'}}
func.func private @signed_levels() attributes {f = #qt.packed<si2, group_size = 32, scale = f16, levels = [-1.0, -0.5, 0.5, 1.0]>}

// -----

// expected-error @+1 {{a format with levels has no zero point}}
func.func private @levels_zp() attributes {f = #qt.packed<ui2, group_size = 32, scale = f16, zero_point, levels = [-1.0, -0.5, 0.5, 1.0]>}

// -----

// expected-error @+1 {{levels must increase strictly, but level 2 (5.000000e-01) follows 5.000000e-01}}
func.func private @unsorted_levels() attributes {f = #qt.packed<ui2, group_size = 32, scale = f16, levels = [-1.0, 0.5, 0.5, 1.0]>}

// -----

// expected-error @+1 {{unknown bit order 'middle_first', expected 'lsb_first' or 'msb_first'}}
func.func private @bad_order() attributes {f = #qt.packed<ui4, group_size = 32, scale = f16, order = middle_first>}

// -----

// expected-error @+1 {{code type must be an integer type such as ui4 or si4, got 'f32'}}
func.func private @float_codes() attributes {f = #qt.packed<f32, group_size = 32, scale = f16>}

// -----

func.func @group_does_not_divide_k(%x: tensor<1x96xf32>, %w: tensor<8x48xi8>, %s: tensor<8x2xf16>) -> tensor<1x8xf32> {
  // expected-error @+1 {{format group_size 64 does not divide the reduction dimension 96}}
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<ui4, group_size = 64, scale = f16>}
      : tensor<1x96xf32>, tensor<8x48xi8>, tensor<8x2xf16> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

func.func @wrong_packed_bytes(%x: tensor<1x64xf32>, %w: tensor<8x64xi8>, %s: tensor<8x2xf16>) -> tensor<1x8xf32> {
  // expected-error @+1 {{'weights' must have shape [8, 32] (64 codes of 4 bits per row), got [8, 64]}}
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<ui4, group_size = 32, scale = f16>}
      : tensor<1x64xf32>, tensor<8x64xi8>, tensor<8x2xf16> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

func.func @weights_not_bytes(%x: tensor<1x64xf32>, %w: tensor<8x32xi32>, %s: tensor<8x2xf16>) -> tensor<1x8xf32> {
  // expected-error @+1 {{'weights' must be a rank-2 tensor of packed i8 bytes, got 'tensor<8x32xi32>'}}
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<ui4, group_size = 32, scale = f16>}
      : tensor<1x64xf32>, tensor<8x32xi32>, tensor<8x2xf16> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

func.func @mismatched_scale_shape(%x: tensor<1x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x4xf16>) -> tensor<1x8xf32> {
  // expected-error @+1 {{'scales' must have shape [8, 2] (one per group of 32 along K = 64), got [8, 4]}}
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<ui4, group_size = 32, scale = f16>}
      : tensor<1x64xf32>, tensor<8x32xi8>, tensor<8x4xf16> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

func.func @mismatched_scale_type(%x: tensor<1x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>) -> tensor<1x8xf32> {
  // expected-error @+1 {{'scales' must have element type 'f16', got 'f32'}}
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<ui4, group_size = 32, scale = f16>}
      : tensor<1x64xf32>, tensor<8x32xi8>, tensor<8x2xf32> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

func.func @missing_zero_points(%x: tensor<1x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf16>) -> tensor<1x8xf32> {
  // expected-error @+1 {{format has 'zero_point' but no 'zero_points' operand is given}}
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
      : tensor<1x64xf32>, tensor<8x32xi8>, tensor<8x2xf16> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

func.func @unexpected_zero_points(%x: tensor<1x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf16>, %zp: tensor<8x2xi8>) -> tensor<1x8xf32> {
  // expected-error @+1 {{'zero_points' operand is given but the format has no 'zero_point'}}
  %y = qt.quantized_matmul %x, %w, %s zero_points(%zp : tensor<8x2xi8>) {format = #qt.packed<ui4, group_size = 32, scale = f16>}
      : tensor<1x64xf32>, tensor<8x32xi8>, tensor<8x2xf16> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

func.func @zero_point_type(%x: tensor<1x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf16>, %zp: tensor<8x2xi32>) -> tensor<1x8xf32> {
  // expected-error @+1 {{'zero_points' must hold i8 codes or values of the scale type 'f16', got 'i32'}}
  %y = qt.quantized_matmul %x, %w, %s zero_points(%zp : tensor<8x2xi32>) {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
      : tensor<1x64xf32>, tensor<8x32xi8>, tensor<8x2xf16> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

func.func @zero_point_shape(%x: tensor<1x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf16>, %zp: tensor<8x1xi8>) -> tensor<1x8xf32> {
  // expected-error @+1 {{'zero_points' must have shape [8, 2] (one per group of 32 along K = 64), got [8, 1]}}
  %y = qt.quantized_matmul %x, %w, %s zero_points(%zp : tensor<8x1xi8>) {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
      : tensor<1x64xf32>, tensor<8x32xi8>, tensor<8x2xf16> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

func.func @bias_shape(%x: tensor<1x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf16>, %b: tensor<16xf32>) -> tensor<1x8xf32> {
  // expected-error @+1 {{'bias' must have shape [8] (one per output channel), got [16]}}
  %y = qt.quantized_matmul %x, %w, %s bias(%b : tensor<16xf32>) {format = #qt.packed<ui4, group_size = 32, scale = f16>}
      : tensor<1x64xf32>, tensor<8x32xi8>, tensor<8x2xf16> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

func.func @result_shape(%x: tensor<3x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf16>) -> tensor<3x16xf32> {
  // expected-error @+1 {{'result' must have shape [3, 8], got [3, 16]}}
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<ui4, group_size = 32, scale = f16>}
      : tensor<3x64xf32>, tensor<8x32xi8>, tensor<8x2xf16> -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

func.func @int_activations(%x: tensor<1x64xi8>, %w: tensor<8x32xi8>, %s: tensor<8x2xf16>) -> tensor<1x8xi8> {
  // expected-error @+1 {{'input' must have f32, f16 or bf16 elements, got 'i8'}}
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<ui4, group_size = 32, scale = f16>}
      : tensor<1x64xi8>, tensor<8x32xi8>, tensor<8x2xf16> -> tensor<1x8xi8>
  return %y : tensor<1x8xi8>
}

// -----

func.func @dynamic_k(%x: tensor<1x?xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf16>) -> tensor<1x8xf32> {
  // expected-error @+1 {{needs a static reduction dimension to read packed 'weights'}}
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<ui4, group_size = 32, scale = f16>}
      : tensor<1x?xf32>, tensor<8x32xi8>, tensor<8x2xf16> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

func.func @dequantize_rank(%w: tensor<8x32xi8>, %s: tensor<8x2xf32>) -> tensor<8x64x1xf32> {
  // expected-error @+1 {{'result' must be a rank-2 [N, K] tensor, got 'tensor<8x64x1xf32>'}}
  %y = qt.dequantize %w, %s {format = #qt.packed<ui4, group_size = 32, scale = f32>}
      : tensor<8x32xi8>, tensor<8x2xf32> -> tensor<8x64x1xf32>
  return %y : tensor<8x64x1xf32>
}

// -----

func.func @dequantize_rows(%w: tensor<8x32xi8>, %s: tensor<8x2xf32>) -> tensor<4x64xf32> {
  // expected-error @+1 {{'result' must have shape [8, 64], got [4, 64]}}
  %y = qt.dequantize %w, %s {format = #qt.packed<ui4, group_size = 32, scale = f32>}
      : tensor<8x32xi8>, tensor<8x2xf32> -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

func.func @dequantize_8bit_bytes(%w: tensor<8x32xi8>, %s: tensor<8x2xf32>) -> tensor<8x64xf32> {
  // expected-error @+1 {{'weights' must have shape [8, 64] (64 codes of 8 bits per row), got [8, 32]}}
  %y = qt.dequantize %w, %s {format = #qt.packed<si8, group_size = 32, scale = f32>}
      : tensor<8x32xi8>, tensor<8x2xf32> -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

func.func @embedding_float_indices(%t: tensor<10x4xf32>, %i: tensor<3xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{'indices' must hold i32 or i64 values, got 'f32'}}
  %e = qt.embedding %t[%i] : tensor<10x4xf32>, tensor<3xf32> -> tensor<3x4xf32>
  return %e : tensor<3x4xf32>
}

// -----

func.func @embedding_shape(%t: tensor<10x4xf32>, %i: tensor<3xi64>) -> tensor<3x8xf32> {
  // expected-error @+1 {{'result' must have shape [3, 4] (indices' shape followed by the row length), got [3, 8]}}
  %e = qt.embedding %t[%i] : tensor<10x4xf32>, tensor<3xi64> -> tensor<3x8xf32>
  return %e : tensor<3x8xf32>
}

// -----

func.func @embedding_scales_without_format(%t: tensor<10x4xf32>, %i: tensor<3xi64>, %s: tensor<10x1xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{'scales' and 'zero_points' need a packed 'format' attribute}}
  %e = qt.embedding %t[%i] scales(%s : tensor<10x1xf32>) : tensor<10x4xf32>, tensor<3xi64> -> tensor<3x4xf32>
  return %e : tensor<3x4xf32>
}

// -----

func.func @embedding_packed_without_scales(%t: tensor<10x16xi8>, %i: tensor<3xi64>) -> tensor<3x32xf32> {
  // expected-error @+1 {{packed 'table' needs a 'scales' operand}}
  %e = qt.embedding %t[%i] {format = #qt.packed<ui4, group_size = 32, scale = f32>} : tensor<10x16xi8>, tensor<3xi64> -> tensor<3x32xf32>
  return %e : tensor<3x32xf32>
}

// -----

func.func @embedding_packed_row(%t: tensor<10x8xi8>, %i: tensor<3xi64>, %s: tensor<10x1xf32>) -> tensor<3x32xf32> {
  // expected-error @+1 {{'table' must have shape [10, 16] (32 codes of 4 bits per row), got [10, 8]}}
  %e = qt.embedding %t[%i] scales(%s : tensor<10x1xf32>) {format = #qt.packed<ui4, group_size = 32, scale = f32>} : tensor<10x8xi8>, tensor<3xi64> -> tensor<3x32xf32>
  return %e : tensor<3x32xf32>
}

// -----

func.func @dq_group(%x: tensor<4x60xf32>) -> (tensor<4x60xi8>, tensor<4x2xf32>) {
  // expected-error @+1 {{'group_size' 32 does not divide the last dimension 60}}
  %q, %s = qt.dynamic_quantize %x {group_size = 32, symmetric} : tensor<4x60xf32> -> tensor<4x60xi8>, tensor<4x2xf32>
  return %q, %s : tensor<4x60xi8>, tensor<4x2xf32>
}

// -----

func.func @dq_scale_shape(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4x1xf32>) {
  // expected-error @+1 {{'scale' must have shape [4, 2] (one per group of 32 along the last dimension), got [4, 1]}}
  %q, %s = qt.dynamic_quantize %x {group_size = 32, symmetric} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x1xf32>
  return %q, %s : tensor<4x64xi8>, tensor<4x1xf32>
}

// -----

func.func @dq_asym_needs_zero_point(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<f32>) {
  // expected-error @+1 {{asymmetric quantization needs a 'zero_point' result}}
  %q, %s = qt.dynamic_quantize %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<f32>
  return %q, %s : tensor<4x64xi8>, tensor<f32>
}

// -----

func.func @dq_sym_has_no_zero_point(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<f32>, tensor<i8>) {
  // expected-error @+1 {{symmetric quantization has no 'zero_point' result}}
  %q, %s, %z = qt.dynamic_quantize %x {symmetric} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<f32>, tensor<i8>
  return %q, %s, %z : tensor<4x64xi8>, tensor<f32>, tensor<i8>
}

// -----

func.func @dq_codes(%x: tensor<4x64xf32>) -> (tensor<4x64xi4>, tensor<f32>) {
  // expected-error @+1 {{'output' must hold i8 codes, got 'i4'}}
  %q, %s = qt.dynamic_quantize %x {symmetric} : tensor<4x64xf32> -> tensor<4x64xi4>, tensor<f32>
  return %q, %s : tensor<4x64xi4>, tensor<f32>
}

// -----

func.func @dq_group_zero(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4x1xf32>) {
  // expected-error @+1 {{attribute 'group_size' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %q, %s = qt.dynamic_quantize %x {group_size = 0, symmetric} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x1xf32>
  return %q, %s : tensor<4x64xi8>, tensor<4x1xf32>
}

// -----

func.func @rms_weight(%x: tensor<2x64xf32>, %g: tensor<32xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{'weight' must have shape [64] (one per feature of the last dimension), got [32]}}
  %y = qt.rms_norm %x, %g : tensor<2x64xf32>, tensor<32xf32>
  return %y : tensor<2x64xf32>
}

// -----

func.func @rms_epsilon(%x: tensor<2x64xf32>, %g: tensor<64xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{'epsilon' must be finite and non-negative, got -1}}
  %y = qt.rms_norm %x, %g {epsilon = -1.0 : f32} : tensor<2x64xf32>, tensor<64xf32>
  return %y : tensor<2x64xf32>
}

// -----

func.func @layer_norm_bias_type(%x: tensor<2x64xf16>, %g: tensor<64xf16>, %b: tensor<64xf32>) -> tensor<2x64xf16> {
  // expected-error @+1 {{'bias' must have element type 'f16', got 'f32'}}
  %y = qt.layer_norm %x, %g, %b : tensor<2x64xf16>, tensor<64xf16>, tensor<64xf32>
  return %y : tensor<2x64xf16>
}

// -----

func.func @gqa_heads(%q: tensor<1x6x4x8xf32>, %k: tensor<1x4x4x8xf32>, %v: tensor<1x4x4x8xf32>) -> tensor<1x6x4x8xf32> {
  // expected-error @+1 {{query heads (6) must be a multiple of key/value heads (4)}}
  %o = qt.attention %q, %k, %v : tensor<1x6x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32> -> tensor<1x6x4x8xf32>
  return %o : tensor<1x6x4x8xf32>
}

// -----

func.func @attention_head_dim(%q: tensor<1x4x4x8xf32>, %k: tensor<1x4x4x16xf32>, %v: tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> {
  // expected-error @+1 {{'key' must have shape [1, 4, 4, 8] (batch and head_dim of 'query'), got [1, 4, 4, 16]}}
  %o = qt.attention %q, %k, %v : tensor<1x4x4x8xf32>, tensor<1x4x4x16xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x8xf32>
  return %o : tensor<1x4x4x8xf32>
}

// -----

func.func @attention_rank(%q: tensor<4x4x8xf32>, %k: tensor<1x4x4x8xf32>, %v: tensor<1x4x4x8xf32>) -> tensor<4x4x8xf32> {
  // expected-error @+1 {{'query' must be a rank-4 [batch, heads, sequence, head_dim] tensor, got 'tensor<4x4x8xf32>'}}
  %o = qt.attention %q, %k, %v : tensor<4x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32> -> tensor<4x4x8xf32>
  return %o : tensor<4x4x8xf32>
}

// -----

func.func @attention_mask_broadcast(%q: tensor<1x4x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %m: tensor<3x4xf32>) -> tensor<1x4x4x8xf32> {
  // expected-error @+1 {{'mask' of shape [3, 4] does not broadcast to scores of shape [1, 4, 4, 4]}}
  %o = qt.attention %q, %k, %v mask(%m : tensor<3x4xf32>) : tensor<1x4x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x4x4x8xf32>
  return %o : tensor<1x4x4x8xf32>
}

// -----

func.func @attention_mask_type(%q: tensor<1x4x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %m: tensor<4x4xi32>) -> tensor<1x4x4x8xf32> {
  // expected-error @+1 {{'mask' must hold i1 or 'f32' values, got 'i32'}}
  %o = qt.attention %q, %k, %v mask(%m : tensor<4x4xi32>) : tensor<1x4x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x4x4x8xf32>
  return %o : tensor<1x4x4x8xf32>
}

// -----

func.func @attention_present_length(%q: tensor<1x4x1x8xf32>, %k: tensor<1x2x1x8xf32>, %v: tensor<1x2x1x8xf32>,
    %pk: tensor<1x2x5x8xf32>, %pv: tensor<1x2x5x8xf32>) -> (tensor<1x4x1x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>) {
  // expected-error @+1 {{'present_key' must have shape [1, 2, 6, 8] (past followed by new keys), got [1, 2, 5, 8]}}
  %o, %nk, %nv = qt.attention %q, %k, %v cache(%pk, %pv : tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>)
      : tensor<1x4x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>
      -> tensor<1x4x1x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>
  return %o, %nk, %nv : tensor<1x4x1x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>
}

// -----

func.func @attention_scale(%q: tensor<1x4x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x4x4x8xf32> {
  // expected-error @+1 {{'scale' must be positive and finite, got 0}}
  %o = qt.attention %q, %k, %v {scale = 0.0 : f32} : tensor<1x4x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x4x4x8xf32>
  return %o : tensor<1x4x4x8xf32>
}

// -----

func.func @rotary_odd(%x: tensor<1x2x4x8xf32>, %c: tensor<4x3xf32>, %s: tensor<4x3xf32>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{rotary dimension must be even, got 7}}
  %y = qt.rotary_embedding %x, %c, %s {rotary_dim = 7} : tensor<1x2x4x8xf32>, tensor<4x3xf32>, tensor<4x3xf32>
  return %y : tensor<1x2x4x8xf32>
}

// -----

func.func @rotary_table(%x: tensor<1x2x4x8xf32>, %c: tensor<4x8xf32>, %s: tensor<4x8xf32>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{'cos' must have shape [4, 4] (one row per position, rotary_dim / 2 = 4 columns), got [4, 8]}}
  %y = qt.rotary_embedding %x, %c, %s : tensor<1x2x4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
  return %y : tensor<1x2x4x8xf32>
}

// -----

func.func @rotary_too_few_positions(%x: tensor<1x2x4x8xf32>, %c: tensor<2x4xf32>, %s: tensor<2x4xf32>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{'cos'/'sin' have 2 positions, fewer than the 4 tokens of 'input'}}
  %y = qt.rotary_embedding %x, %c, %s : tensor<1x2x4x8xf32>, tensor<2x4xf32>, tensor<2x4xf32>
  return %y : tensor<1x2x4x8xf32>
}

// -----

func.func @rotary_dim_exceeds(%x: tensor<1x2x4x8xf32>, %c: tensor<4x8xf32>, %s: tensor<4x8xf32>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{'rotary_dim' 16 exceeds the head dimension 8}}
  %y = qt.rotary_embedding %x, %c, %s {rotary_dim = 16} : tensor<1x2x4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
  return %y : tensor<1x2x4x8xf32>
}

// -----

func.func @rotary_positions(%x: tensor<1x2x4x8xf32>, %c: tensor<16x4xf32>, %s: tensor<16x4xf32>, %p: tensor<1x3xi64>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{'position_ids' must have shape [1, 4] (one per batch entry and token), got [1, 3]}}
  %y = qt.rotary_embedding %x, %c, %s positions(%p : tensor<1x3xi64>) : tensor<1x2x4x8xf32>, tensor<16x4xf32>, tensor<16x4xf32>
  return %y : tensor<1x2x4x8xf32>
}

// -----

func.func @gelu_int(%x: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{'qt.gelu' op operand #0 must be 32-bit float or 16-bit float or bfloat16 type or ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<4xi32>'}}
  %y = qt.gelu %x : tensor<4xi32>
  return %y : tensor<4xi32>
}

// -----

func.func @silu_types(%x: tensor<4xf32>) -> tensor<4xf16> {
  // expected-error @+1 {{'qt.silu' op requires the same type for all operands and results}}
  %y = "qt.silu"(%x) : (tensor<4xf32>) -> tensor<4xf16>
  return %y : tensor<4xf16>
}

// -----

func.func @kv_bits(%c: tensor<1x2x8x6xi8>, %s: tensor<1x2x1x16xf16>) -> tensor<1x2x8x16xf32> {
  // expected-error @+1 {{'bits' must be 2, 4 or 8, got 3}}
  %k = qt.kv_dequantize %c, %s, %s {bits = 3, group_size = 8, per_channel}
      : tensor<1x2x8x6xi8>, tensor<1x2x1x16xf16>, tensor<1x2x1x16xf16> -> tensor<1x2x8x16xf32>
  return %k : tensor<1x2x8x16xf32>
}

// -----

func.func @kv_key_groups(%c: tensor<1x2x9x8xi8>, %s: tensor<1x2x1x16xf16>) -> tensor<1x2x9x16xf32> {
  // expected-error @+1 {{'scales' must have shape [1, 2, 2, 16] (one per channel and group of 8 tokens), got [1, 2, 1, 16]}}
  %k = qt.kv_dequantize %c, %s, %s {bits = 4, group_size = 8, per_channel}
      : tensor<1x2x9x8xi8>, tensor<1x2x1x16xf16>, tensor<1x2x1x16xf16> -> tensor<1x2x9x16xf32>
  return %k : tensor<1x2x9x16xf32>
}

// -----

func.func @kv_value_group(%c: tensor<1x2x9x16xi8>, %s: tensor<1x2x9x1xf16>) -> tensor<1x2x9x16xf32> {
  // expected-error @+1 {{'group_size' 12 does not divide the head dimension 16}}
  %k = qt.kv_dequantize %c, %s, %s {bits = 8, group_size = 12}
      : tensor<1x2x9x16xi8>, tensor<1x2x9x1xf16>, tensor<1x2x9x1xf16> -> tensor<1x2x9x16xf32>
  return %k : tensor<1x2x9x16xf32>
}

// -----

func.func @kv_past_longer(%x: tensor<1x2x4x16xf32>, %c: tensor<1x2x5x16xi8>, %s: tensor<1x2x5x1xf16>)
    -> tensor<1x2x4x16xi8> {
  // expected-error @+1 {{the past (5 tokens) is longer than 'input' (4 tokens)}}
  %q, %qs, %qm = qt.kv_quantize %x, %c, %s, %s {bits = 8, group_size = 16}
      : tensor<1x2x4x16xf32>, tensor<1x2x5x16xi8>, tensor<1x2x5x1xf16>, tensor<1x2x5x1xf16>
      -> tensor<1x2x4x16xi8>, tensor<1x2x4x1xf16>, tensor<1x2x4x1xf16>
  return %q : tensor<1x2x4x16xi8>
}

// -----

func.func @kv_codes_type(%x: tensor<1x2x4x16xf32>, %c: tensor<1x2x0x16xi8>, %s: tensor<1x2x0x1xf16>)
    -> tensor<1x2x4x16xi8> {
  // expected-error @+1 {{'scales' must have element type 'f16', got 'f32'}}
  %q, %qs, %qm = qt.kv_quantize %x, %c, %s, %s {bits = 8, group_size = 16}
      : tensor<1x2x4x16xf32>, tensor<1x2x0x16xi8>, tensor<1x2x0x1xf16>, tensor<1x2x0x1xf16>
      -> tensor<1x2x4x16xi8>, tensor<1x2x4x1xf32>, tensor<1x2x4x1xf16>
  return %q : tensor<1x2x4x16xi8>
}

// -----

func.func @int8_dot_lanes(%a: vector<4xi32>, %x: vector<12xi8>) -> vector<4xi32> {
  // expected-error @+1 {{needs 4 bytes per i32 lane: 'vector<12xi8>' for 'vector<4xi32>'}}
  %0 = qt.int8_dot %a, %x, %x : vector<12xi8> -> vector<4xi32>
  return %0 : vector<4xi32>
}

// -----

func.func @lookup_lanes(%t: vector<4xf32>, %i: vector<4xi32>) -> vector<4xf32> {
  // expected-error @+1 {{needs a table of 8 or 16 lanes, got 'vector<4xf32>'}}
  %r = qt.lookup %t, %i : vector<4xf32>, vector<4xi32>
  return %r : vector<4xf32>
}

// -----

func.func @lookup_index(%t: vector<8xf32>, %i: vector<16xi32>) -> vector<8xf32> {
  // expected-error @+1 {{needs one index per table lane: 'vector<16xi32>' for 'vector<8xf32>'}}
  %r = qt.lookup %t, %i : vector<8xf32>, vector<16xi32>
  return %r : vector<8xf32>
}

// -----

func.func @min_signed(%x: tensor<2x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>, %m: tensor<8x2xf32>) -> tensor<2x8xf32> {
  // expected-error @+2 {{codes with a min must be unsigned (ui4), got 'si4'}}
  %y = qt.quantized_matmul %x, %w, %s zero_points(%m : tensor<8x2xf32>)
      {format = #qt.packed<si4, group_size = 32, scale = f32, min>}
      : tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x2xf32> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @min_and_zero_point(%x: tensor<2x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>, %m: tensor<8x2xf32>) -> tensor<2x8xf32> {
  // expected-error @+2 {{a format has either a zero point or a min, not both}}
  %y = qt.quantized_matmul %x, %w, %s zero_points(%m : tensor<8x2xf32>)
      {format = #qt.packed<ui4, group_size = 32, scale = f32, zero_point, min>}
      : tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x2xf32> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @min_type(%x: tensor<2x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>, %m: tensor<8x2xi8>) -> tensor<2x8xf32> {
  // expected-error @+1 {{the mins in 'zero_points' must have the scale type 'f32', got 'i8'}}
  %y = qt.quantized_matmul %x, %w, %s zero_points(%m : tensor<8x2xi8>)
      {format = #qt.packed<ui4, group_size = 32, scale = f32, min>}
      : tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x2xf32> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @min_missing(%x: tensor<2x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{format has 'min' but no 'zero_points' operand is given}}
  %y = qt.quantized_matmul %x, %w, %s
      {format = #qt.packed<ui4, group_size = 32, scale = f32, min>}
      : tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x2xf32> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @window_not_causal(%q: tensor<1x4x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>) -> tensor<1x4x3x8xf32> {
  // expected-error @+1 {{'window' needs 'causal' (it counts back from each query's position)}}
  %o = qt.attention %q, %k, %v {window = 4}
      : tensor<1x4x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x4x3x8xf32>
  return %o : tensor<1x4x3x8xf32>
}

// -----

func.func @softcap_negative(%q: tensor<1x4x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>) -> tensor<1x4x3x8xf32> {
  // expected-error @+1 {{'softcap' must be positive and finite}}
  %o = qt.attention %q, %k, %v {causal, softcap = -1.0 : f32}
      : tensor<1x4x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x4x3x8xf32>
  return %o : tensor<1x4x3x8xf32>
}
