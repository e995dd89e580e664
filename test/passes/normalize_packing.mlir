// RUN: qtc-opt %s --split-input-file --qt-normalize-packing --verify-diagnostics | FileCheck %s

// 4-bit codes 1, 2, 3, 4 written high nibble first (0x12 0x34) become low
// nibble first (0x21 0x43).
// CHECK-LABEL: func @repack_4bit
// CHECK-NOT: dense<{{\[\[}}18, 52]]>
// CHECK: %[[W:.*]] = arith.constant dense<{{\[\[}}33, 67]]> : tensor<1x2xi8>
// CHECK: qt.dequantize %[[W]], %{{.*}} {format = #qt.packed<ui4, group_size = 4, scale = f32>}
func.func @repack_4bit(%s: tensor<1x1xf32>) -> tensor<1x4xf32> {
  %w = arith.constant dense<[[18, 52]]> : tensor<1x2xi8>
  %y = qt.dequantize %w, %s {format = #qt.packed<ui4, group_size = 4, scale = f32, order = msb_first>}
      : tensor<1x2xi8>, tensor<1x1xf32> -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// 3-bit codes 0..7 straddle bytes: 0x05 0x39 0x77 (msb first) become
// 0x88 0xC6 0xFA (lsb first), printed as signed i8. Each row is repacked
// on its own; the second row holds codes 7..0.
// CHECK-LABEL: func @repack_3bit_rows
// CHECK-NOT: arith.constant dense<{{\[\[}}5, 57, 119]
// CHECK: arith.constant dense<{{\[\[}}-120, -58, -6], [119, 57, 5]]> : tensor<2x3xi8>
// CHECK: #qt.packed<si3, group_size = 8, scale = f16>
func.func @repack_3bit_rows(%x: tensor<1x8xf16>, %s: tensor<2x1xf16>) -> tensor<1x2xf16> {
  %w = arith.constant dense<[[5, 57, 119], [-6, -58, -120]]> : tensor<2x3xi8>
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<si3, group_size = 8, scale = f16, order = msb_first>}
      : tensor<1x8xf16>, tensor<2x3xi8>, tensor<2x1xf16> -> tensor<1x2xf16>
  return %y : tensor<1x2xf16>
}

// -----

// Weights in lsb_first order are left alone.
// CHECK-LABEL: func @already_lsb
// CHECK: arith.constant dense<{{\[\[}}18, 52]]>
// CHECK: #qt.packed<ui4, group_size = 4, scale = f32>
func.func @already_lsb(%s: tensor<1x1xf32>) -> tensor<1x4xf32> {
  %w = arith.constant dense<[[18, 52]]> : tensor<1x2xi8>
  %y = qt.dequantize %w, %s {format = #qt.packed<ui4, group_size = 4, scale = f32>}
      : tensor<1x2xi8>, tensor<1x1xf32> -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// A constant with another user keeps its bytes for that user.
// CHECK-LABEL: func @shared_constant
// CHECK-DAG: %[[OLD:.*]] = arith.constant dense<{{\[\[}}18, 52]]> : tensor<1x2xi8>
// CHECK-DAG: %[[NEW:.*]] = arith.constant dense<{{\[\[}}33, 67]]> : tensor<1x2xi8>
// CHECK: qt.dequantize %[[NEW]]
// CHECK: return %{{.*}}, %[[OLD]]
func.func @shared_constant(%s: tensor<1x1xf32>) -> (tensor<1x4xf32>, tensor<1x2xi8>) {
  %w = arith.constant dense<[[18, 52]]> : tensor<1x2xi8>
  %y = qt.dequantize %w, %s {format = #qt.packed<ui4, group_size = 4, scale = f32, order = msb_first>}
      : tensor<1x2xi8>, tensor<1x1xf32> -> tensor<1x4xf32>
  return %y, %w : tensor<1x4xf32>, tensor<1x2xi8>
}

// -----

// Packed embedding tables are repacked as well; a splat survives.
// CHECK-LABEL: func @embedding_splat
// CHECK: arith.constant dense<33> : tensor<4x2xi8>
// CHECK: #qt.packed<ui4, group_size = 4, scale = f32>
func.func @embedding_splat(%i: tensor<2xi64>, %s: tensor<4x1xf32>) -> tensor<2x4xf32> {
  %t = arith.constant dense<18> : tensor<4x2xi8>
  %e = qt.embedding %t[%i] scales(%s : tensor<4x1xf32>) {format = #qt.packed<ui4, group_size = 4, scale = f32, order = msb_first>}
      : tensor<4x2xi8>, tensor<2xi64> -> tensor<2x4xf32>
  return %e : tensor<2x4xf32>
}

// -----

// Weights held in a resource blob stay in a (new) blob.
// CHECK-LABEL: func @resource
// CHECK: arith.constant dense_resource<w_lsb> : tensor<1x4xi8>
// CHECK: w_lsb: "0x0100000021436587"
func.func @resource(%x: tensor<1x8xf32>, %s: tensor<1x1xf32>) -> tensor<1x1xf32> {
  %w = arith.constant dense_resource<w> : tensor<1x4xi8>
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<ui4, group_size = 8, scale = f32, order = msb_first>}
      : tensor<1x8xf32>, tensor<1x4xi8>, tensor<1x1xf32> -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w: "0x0100000012345678"
    }
  }
#-}

// -----

// Weights only known at run time cannot be repacked here.
// CHECK-LABEL: func @runtime_weights
// CHECK: order = msb_first
func.func @runtime_weights(%w: tensor<1x2xi8>, %s: tensor<1x1xf32>) -> tensor<1x4xf32> {
  // expected-warning @+1 {{packed weights are not a constant; left in msb_first order}}
  %y = qt.dequantize %w, %s {format = #qt.packed<ui4, group_size = 4, scale = f32, order = msb_first>}
      : tensor<1x2xi8>, tensor<1x1xf32> -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
