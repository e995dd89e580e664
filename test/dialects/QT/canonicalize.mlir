// Canonicalization patterns and folders of the qt ops.
// RUN: qtc-opt %s --split-input-file --canonicalize | FileCheck %s

// Unsigned 4-bit codes with all zero points at 8 = 2^(4-1), the implicit
// zero point: the op is symmetric.
// CHECK-LABEL: func @drop_implicit_zero_points_u4
// CHECK: qt.quantized_matmul %{{[a-z0-9]+}}, %{{[a-z0-9]+}}, %{{[a-z0-9]+}} {format = #qt.packed<ui4, group_size = 32, scale = f16>}
// CHECK-NOT: zero_points
func.func @drop_implicit_zero_points_u4(%x: tensor<1x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf16>) -> tensor<1x8xf32> {
  %zp = arith.constant dense<8> : tensor<8x2xi8>
  %y = qt.quantized_matmul %x, %w, %s zero_points(%zp : tensor<8x2xi8>)
      {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
      : tensor<1x64xf32>, tensor<8x32xi8>, tensor<8x2xf16> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// Unsigned 8-bit zero point 128 is stored as the i8 byte -128.
// CHECK-LABEL: func @drop_implicit_zero_points_u8
// CHECK: qt.dequantize %{{[a-z0-9]+}}, %{{[a-z0-9]+}} {format = #qt.packed<ui8, group_size = 32, scale = f32>}
func.func @drop_implicit_zero_points_u8(%w: tensor<4x64xi8>, %s: tensor<4x2xf32>) -> tensor<4x64xf32> {
  %zp = arith.constant dense<-128> : tensor<4x2xi8>
  %y = qt.dequantize %w, %s zero_points(%zp : tensor<4x2xi8>)
      {format = #qt.packed<ui8, group_size = 32, scale = f32, zero_point>}
      : tensor<4x64xi8>, tensor<4x2xf32> -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

// Signed codes: the implicit zero point is 0.
// CHECK-LABEL: func @drop_implicit_zero_points_signed
// CHECK: qt.embedding %{{.*}} scales(%{{.*}} : tensor<10x1xf32>) {format = #qt.packed<si4, group_size = 32, scale = f32>}
func.func @drop_implicit_zero_points_signed(%t: tensor<10x16xi8>, %i: tensor<3xi64>, %s: tensor<10x1xf32>) -> tensor<3x32xf32> {
  %zp = arith.constant dense<0> : tensor<10x1xi8>
  %e = qt.embedding %t[%i] scales(%s : tensor<10x1xf32>) zero_points(%zp : tensor<10x1xi8>)
      {format = #qt.packed<si4, group_size = 32, scale = f32, zero_point>}
      : tensor<10x16xi8>, tensor<3xi64> -> tensor<3x32xf32>
  return %e : tensor<3x32xf32>
}

// -----

// Real-valued zero points equal to the implicit one also go.
// CHECK-LABEL: func @drop_implicit_float_zero_points
// CHECK: {format = #qt.packed<ui2, group_size = 64, scale = f16>}
func.func @drop_implicit_float_zero_points(%x: tensor<1x64xf16>, %w: tensor<8x16xi8>, %s: tensor<8x1xf16>) -> tensor<1x8xf16> {
  %zp = arith.constant dense<2.0> : tensor<8x1xf16>
  %y = qt.quantized_matmul %x, %w, %s zero_points(%zp : tensor<8x1xf16>)
      {format = #qt.packed<ui2, group_size = 64, scale = f16, zero_point>}
      : tensor<1x64xf16>, tensor<8x16xi8>, tensor<8x1xf16> -> tensor<1x8xf16>
  return %y : tensor<1x8xf16>
}

// -----

// Zero points that differ from the implicit one carry information: kept.
// CHECK-LABEL: func @keep_zero_points
// CHECK: zero_points(%{{.*}} : tensor<2x2xi8>) {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
// CHECK: zero_points(%{{.*}} : tensor<2x2xi8>) {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
func.func @keep_zero_points(%x: tensor<1x64xf32>, %w: tensor<2x32xi8>, %s: tensor<2x2xf16>, %zpa: tensor<2x2xi8>) -> (tensor<1x2xf32>, tensor<1x2xf32>) {
  %zp = arith.constant dense<[[8, 8], [8, 7]]> : tensor<2x2xi8>
  %y = qt.quantized_matmul %x, %w, %s zero_points(%zp : tensor<2x2xi8>)
      {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
      : tensor<1x64xf32>, tensor<2x32xi8>, tensor<2x2xf16> -> tensor<1x2xf32>
  %z = qt.quantized_matmul %x, %w, %s zero_points(%zpa : tensor<2x2xi8>)
      {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
      : tensor<1x64xf32>, tensor<2x32xi8>, tensor<2x2xf16> -> tensor<1x2xf32>
  return %y, %z : tensor<1x2xf32>, tensor<1x2xf32>
}

// -----

// CHECK-LABEL: func @drop_zero_bias
// CHECK: qt.quantized_matmul %{{[a-z0-9]+}}, %{{[a-z0-9]+}}, %{{[a-z0-9]+}} {format
// CHECK: qt.quantized_matmul %{{.*}} bias(%{{.*}} : tensor<2xf32>)
func.func @drop_zero_bias(%x: tensor<1x64xf32>, %w: tensor<2x32xi8>, %s: tensor<2x2xf16>) -> (tensor<1x2xf32>, tensor<1x2xf32>) {
  %zero = arith.constant dense<0.0> : tensor<2xf32>
  %nonzero = arith.constant dense<[0.0, 1.5]> : tensor<2xf32>
  %y = qt.quantized_matmul %x, %w, %s bias(%zero : tensor<2xf32>)
      {format = #qt.packed<ui4, group_size = 32, scale = f16>}
      : tensor<1x64xf32>, tensor<2x32xi8>, tensor<2x2xf16> -> tensor<1x2xf32>
  %z = qt.quantized_matmul %x, %w, %s bias(%nonzero : tensor<2xf32>)
      {format = #qt.packed<ui4, group_size = 32, scale = f16>}
      : tensor<1x64xf32>, tensor<2x32xi8>, tensor<2x2xf16> -> tensor<1x2xf32>
  return %y, %z : tensor<1x2xf32>, tensor<1x2xf32>
}

// -----

// CHECK-LABEL: func @layer_norm_zero_bias
// CHECK: qt.layer_norm %{{[a-z0-9]+}}, %{{[a-z0-9]+}} : tensor<2x4xf32>, tensor<4xf32>
func.func @layer_norm_zero_bias(%x: tensor<2x4xf32>, %g: tensor<4xf32>) -> tensor<2x4xf32> {
  %b = arith.constant dense<[0.0, 0.0, -0.0, 0.0]> : tensor<4xf32>
  %y = qt.layer_norm %x, %g, %b : tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// An additive mask of zeros and a boolean mask of trues mask nothing.
// CHECK-LABEL: func @attention_trivial_masks
// CHECK: qt.attention %{{[a-z0-9]+}}, %{{[a-z0-9]+}}, %{{[a-z0-9]+}} {causal} :
// CHECK: qt.attention %{{[a-z0-9]+}}, %{{[a-z0-9]+}}, %{{[a-z0-9]+}} :
// CHECK: qt.attention %{{.*}} mask(%{{.*}} : tensor<1x4xi1>)
func.func @attention_trivial_masks(%q: tensor<1x2x4x8xf32>, %k: tensor<1x1x4x8xf32>, %v: tensor<1x1x4x8xf32>)
    -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) {
  %zeros = arith.constant dense<0.0> : tensor<1x1x4x4xf32>
  %trues = arith.constant dense<true> : tensor<4xi1>
  %padding = arith.constant dense<[[true, true, true, false]]> : tensor<1x4xi1>
  %a = qt.attention %q, %k, %v mask(%zeros : tensor<1x1x4x4xf32>) {causal}
      : tensor<1x2x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x2x4x8xf32>
  %b = qt.attention %q, %k, %v mask(%trues : tensor<4xi1>)
      : tensor<1x2x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x2x4x8xf32>
  %c = qt.attention %q, %k, %v mask(%padding : tensor<1x4xi1>)
      : tensor<1x2x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x2x4x8xf32>
  return %a, %b, %c : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>
}

// -----

// Activations of constants fold; values from the closed forms, rounded to
// the element type: silu(1) = 1 / (1 + e^-1), gelu(1) = Phi(1),
// gelu_tanh(1) = 0.5 * (1 + tanh(sqrt(2/pi) * 1.044715)).
// CHECK-LABEL: func @fold_activations
// CHECK-DAG: arith.constant dense<[0.000000e+00, 0.731058597, -0.268941432]> : tensor<3xf32>
// CHECK-DAG: arith.constant dense<0.841344773> : tensor<2xf32>
// CHECK-DAG: arith.constant dense<8.411920e-01> : tensor<2xf32>
// CHECK-DAG: arith.constant 7.309570e-01 : f16
// CHECK-NOT: qt.
func.func @fold_activations() -> (tensor<3xf32>, tensor<2xf32>, tensor<2xf32>, f16) {
  %c = arith.constant dense<[0.0, 1.0, -1.0]> : tensor<3xf32>
  %one = arith.constant dense<1.0> : tensor<2xf32>
  %h = arith.constant 1.0 : f16
  %a = qt.silu %c : tensor<3xf32>
  %b = qt.gelu %one : tensor<2xf32>
  %t = qt.gelu %one {approximation = #qt.gelu_approximation<tanh>} : tensor<2xf32>
  %s = qt.silu %h : f16
  return %a, %b, %t, %s : tensor<3xf32>, tensor<2xf32>, tensor<2xf32>, f16
}

// -----

// Zero points held in resource blobs (as importers write weights) are read
// too: i8 codes 8 8 and f16 values 2.0 2.0 (0x4000) are implicit.
// CHECK-LABEL: func @implicit_zero_points_in_resources
// CHECK: {format = #qt.packed<ui4, group_size = 32, scale = f16>}
// CHECK: {format = #qt.packed<ui2, group_size = 32, scale = f16>}
// CHECK: zero_points(%{{.*}} : tensor<2x1xi8>) {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
func.func @implicit_zero_points_in_resources(%x: tensor<1x32xf16>, %w4: tensor<2x16xi8>, %w2: tensor<2x8xi8>, %s: tensor<2x1xf16>)
    -> (tensor<1x2xf16>, tensor<1x2xf16>, tensor<1x2xf16>) {
  %zi = arith.constant dense_resource<zp_codes> : tensor<2x1xi8>
  %zf = arith.constant dense_resource<zp_values> : tensor<2x1xf16>
  %zk = arith.constant dense_resource<zp_kept> : tensor<2x1xi8>
  %a = qt.quantized_matmul %x, %w4, %s zero_points(%zi : tensor<2x1xi8>)
      {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
      : tensor<1x32xf16>, tensor<2x16xi8>, tensor<2x1xf16> -> tensor<1x2xf16>
  %b = qt.quantized_matmul %x, %w2, %s zero_points(%zf : tensor<2x1xf16>)
      {format = #qt.packed<ui2, group_size = 32, scale = f16, zero_point>}
      : tensor<1x32xf16>, tensor<2x8xi8>, tensor<2x1xf16> -> tensor<1x2xf16>
  %c = qt.quantized_matmul %x, %w4, %s zero_points(%zk : tensor<2x1xi8>)
      {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
      : tensor<1x32xf16>, tensor<2x16xi8>, tensor<2x1xf16> -> tensor<1x2xf16>
  return %a, %b, %c : tensor<1x2xf16>, tensor<1x2xf16>, tensor<1x2xf16>
}

{-#
  dialect_resources: {
    builtin: {
      zp_codes: "0x010000000808",
      zp_values: "0x0200000000400040",
      zp_kept: "0x010000000807"
    }
  }
#-}
