// RUN: qtc-opt %s --split-input-file --convert-qt-to-linalg | FileCheck %s

// The quantized matmul decodes codes inside the contraction: the only
// weight tensor read is the packed i8 one; no [N, K] real-valued weight is
// ever built. Codes that tile a byte (1, 2, 4, 8 bits) are decoded a byte at
// a time: the loops run over (m, n, group, byte in group), the activations
// are viewed as [M, groups, bytes per group, codes per byte], and scales
// and zero points are read per (n, group).
// CHECK: #[[X0:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3, 0)>
// CHECK: #[[X1:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3, 1)>
// CHECK: #[[G:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
// CHECK-LABEL: func @quantized_matmul
// CHECK-NOT: tensor<8x64xf32>
// CHECK-NOT: tensor<64x8xf32>
// CHECK: %[[XG:.*]] = tensor.expand_shape %arg0 {{\[}}[0], [1, 2, 3]] {{.*}} : tensor<?x64xf32> into tensor<?x2x16x2xf32>
// CHECK: linalg.generic {indexing_maps = [#[[X0]], #[[X1]], #[[G]], #[[G]], #{{.*}}], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME: ins(%[[XG]], %[[XG]], %arg2, %arg3 : tensor<?x2x16x2xf32>, tensor<?x2x16x2xf32>, tensor<8x2xf16>, tensor<8x2xi8>)
// CHECK: tensor.extract %arg1[%{{.*}}, %{{.*}}] : tensor<8x32xi8>
// CHECK: arith.andi
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: arith.shrui
// CHECK: arith.addf
// CHECK-NOT: tensor<8x64xf32>
// CHECK: return
func.func @quantized_matmul(%x: tensor<?x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf16>, %zp: tensor<8x2xi8>) -> tensor<?x8xf32> {
  %y = qt.quantized_matmul %x, %w, %s zero_points(%zp : tensor<8x2xi8>)
      {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
      : tensor<?x64xf32>, tensor<8x32xi8>, tensor<8x2xf16> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Codes that straddle bytes (3 bits) are decoded one at a time over
// (m, n, k); scales and zero points are read per group: (n, k floordiv group).
// CHECK: #[[GROUP:.*]] = affine_map<(d0, d1, d2) -> (d1, d2 floordiv 32)>
// CHECK-LABEL: func @group_maps
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[GROUP]], #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]}
func.func @group_maps(%x: tensor<2x64xf32>, %w: tensor<4x24xi8>, %s: tensor<4x2xf32>) -> tensor<2x4xf32> {
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<si3, group_size = 32, scale = f32>}
      : tensor<2x64xf32>, tensor<4x24xi8>, tensor<4x2xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// CHECK-LABEL: func @activations_and_norms
// CHECK-NOT: qt.
// CHECK: math.erf
// CHECK: math.exp
// CHECK: linalg.reduce
// CHECK: math.sqrt
// CHECK: return
func.func @activations_and_norms(%x: tensor<2x16xf32>, %g: tensor<16xf32>) -> (tensor<2x16xf32>, tensor<2x16xf32>, tensor<2x16xf32>) {
  %a = qt.gelu %x : tensor<2x16xf32>
  %b = qt.silu %a : tensor<2x16xf32>
  %c = qt.rms_norm %b, %g : tensor<2x16xf32>, tensor<16xf32>
  return %a, %b, %c : tensor<2x16xf32>, tensor<2x16xf32>, tensor<2x16xf32>
}

// -----

// Grouped-query attention reads key/value head h floordiv 2; the cache is
// concatenated with the new keys and values.
// CHECK: #[[KV:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, d3, d4)>
// CHECK-LABEL: func @attention
// CHECK: %[[K:.*]] = tensor.concat dim(2) %arg3, %arg1
// CHECK: %[[V:.*]] = tensor.concat dim(2) %arg4, %arg2
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[KV]], #{{.*}}]
// CHECK: arith.cmpi ugt
// CHECK: math.exp
// CHECK: return %{{.*}}, %[[K]], %[[V]]
func.func @attention(%q: tensor<1x4x2x8xf32>, %k: tensor<1x2x2x8xf32>, %v: tensor<1x2x2x8xf32>,
    %pk: tensor<1x2x3x8xf32>, %pv: tensor<1x2x3x8xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>) {
  %o, %nk, %nv = qt.attention %q, %k, %v cache(%pk, %pv : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>) {causal}
      : tensor<1x4x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>
      -> tensor<1x4x2x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>
  return %o, %nk, %nv : tensor<1x4x2x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>
}

// -----

// Activations quantized at run time: per group, the range (a reduction over
// the group), the scale, then the codes rounded half to even.
// CHECK-DAG: #[[X3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[G3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[GRP:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 32)>
// CHECK-LABEL: func @dynamic_quantize
// CHECK-NOT: qt.dynamic_quantize
// CHECK: %[[E:.*]] = tensor.expand_shape %arg0 {{\[}}[0], [1, 2]] output_shape [4, 2, 32]
// CHECK: %[[R:.*]]:2 = linalg.generic {indexing_maps = [#[[X3]], #[[G3]], #[[G3]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[E]] : tensor<4x2x32xf32>)
// CHECK: arith.minimumf
// CHECK: arith.maximumf
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%[[R]]#0, %[[R]]#1 : tensor<4x2xf32>, tensor<4x2xf32>) outs(%{{.*}} : tensor<4x2xf32>)
// CHECK: math.absf
// CHECK: arith.select
// CHECK: %[[Q:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[GRP]], #{{.*}}], {{.*}} ins(%arg0, %[[S]] : tensor<4x64xf32>, tensor<4x2xf32>) outs(%{{.*}} : tensor<4x64xi8>)
// CHECK: arith.divf
// CHECK: math.roundeven
// CHECK: return %[[Q]], %[[S]]
func.func @dynamic_quantize(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4x2xf32>) {
  %q, %s = qt.dynamic_quantize %x {group_size = 32, symmetric} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x2xf32>
  return %q, %s : tensor<4x64xi8>, tensor<4x2xf32>
}

// -----

// Per tensor (what MatMulInteger's DynamicQuantizeLinear gives), an f32
// range is a 16-lane vector minimum and maximum over the flattened tensor,
// then one horizontal reduction each.
// CHECK-LABEL: func @dynamic_quantize_per_tensor
// CHECK: %[[F:.*]] = tensor.collapse_shape %arg0 {{\[}}[0, 1]] : tensor<4x64xf32> into tensor<256xf32>
// CHECK: %[[V:.*]]:2 = scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<16xf32>, vector<16xf32>)
// CHECK: vector.transfer_read %[[F]][%[[I]]]
// CHECK: arith.minimumf {{.*}} : vector<16xf32>
// CHECK: arith.maximumf {{.*}} : vector<16xf32>
// CHECK: vector.reduction <minimumf>, %[[V]]#0
// CHECK: vector.reduction <maximumf>, %[[V]]#1
// CHECK: math.roundeven
func.func @dynamic_quantize_per_tensor(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<f32>, tensor<i8>) {
  %q, %s, %z = qt.dynamic_quantize %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<f32>, tensor<i8>
  return %q, %s, %z : tensor<4x64xi8>, tensor<f32>, tensor<i8>
}

// -----

// linalg.softmax, which the ONNX frontend emits, is decomposed into
// generics (max, exp of the difference, sum, divide).
// CHECK-LABEL: func @softmax
// CHECK-NOT: linalg.softmax
// CHECK: arith.maxnumf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
func.func @softmax(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %e = tensor.empty() : tensor<2x5xf32>
  %y = linalg.softmax dimension(1) ins(%x : tensor<2x5xf32>) outs(%e : tensor<2x5xf32>) -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

// qt.dequantize (a weight panel of qt-tile-quantized-matmul) reads its codes
// a word at a time: a byte holds two 4-bit codes, three bytes hold eight
// 3-bit codes. The loops run over (n, word, code in word), the word's bytes
// are indexed inputs, and the result is viewed as [N, words, codes].
// CHECK-DAG: #[[B0:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
// CHECK-DAG: #[[B1:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, 1)>
// CHECK-DAG: #[[B2:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, 2)>
// CHECK-DAG: #[[G3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1 floordiv 4)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[G4:.*]] = affine_map<(d0, d1, d2) -> (d0, d1 floordiv 16)>
// CHECK-LABEL: func @dequantize_words
// CHECK: %[[V:.*]] = tensor.expand_shape %arg0 {{\[}}[0], [1, 2]] output_shape [4, 8, 3] : tensor<4x24xi8> into tensor<4x8x3xi8>
// CHECK: %[[D3:.*]] = linalg.generic {indexing_maps = [#[[B0]], #[[B1]], #[[B2]], #[[G3]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[V]], %[[V]], %[[V]], %arg1 : {{.*}}) outs(%{{.*}} : tensor<4x8x8xf32>)
// CHECK: tensor.collapse_shape %[[D3]] {{\[}}[0], [1, 2]] : tensor<4x8x8xf32> into tensor<4x64xf32>
// CHECK: linalg.generic {indexing_maps = [#[[W]], #[[G4]], #{{.*}}], {{.*}} ins(%arg2, %arg3 : tensor<4x32xi8>, tensor<4x2xf16>) outs(%{{.*}} : tensor<4x32x2xf32>)
func.func @dequantize_words(%w3: tensor<4x24xi8>, %s3: tensor<4x2xf32>, %w4: tensor<4x32xi8>,
                            %s4: tensor<4x2xf16>) -> (tensor<4x64xf32>, tensor<4x64xf32>) {
  %a = qt.dequantize %w3, %s3 {format = #qt.packed<si3, group_size = 32, scale = f32>}
      : tensor<4x24xi8>, tensor<4x2xf32> -> tensor<4x64xf32>
  %b = qt.dequantize %w4, %s4 {format = #qt.packed<ui4, group_size = 32, scale = f16>}
      : tensor<4x32xi8>, tensor<4x2xf16> -> tensor<4x64xf32>
  return %a, %b : tensor<4x64xf32>, tensor<4x64xf32>
}
