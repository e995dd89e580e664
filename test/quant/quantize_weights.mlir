// RUN: qtc-opt %s --split-input-file --qt-quantize-weights="bits=4 group-size=32" --canonicalize | FileCheck %s
// RUN: qtc-opt %s --split-input-file --qt-quantize-weights="bits=3 group-size=32 asym" | FileCheck %s --check-prefix=ASYM
// RUN: qtc-opt %s --split-input-file --qt-quantize-weights="group-size=6 report" --verify-diagnostics -o /dev/null
// A group size that does not divide K falls back to the largest multiple of
// 32 (16, 8) below it that does: 48 -> 32 for K = 64, kept for K = 96.
// RUN: qtc-opt %s --split-input-file --qt-quantize-weights="group-size=48 report" -o /dev/null 2>&1 | FileCheck %s --check-prefix=FIT
// FIT: weight 'proj.weight' (8x64) quantized to 4 bits, group 32
// FIT: weight 'matmul_0' (4x96) quantized to 8 bits, group 48
// Numerics (codes the compiled code reads, weight error per width, exact
// grid weights), through the CPU backend and the JIT:
// RUN: python3 %S/quantize_weights_numeric.py qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib | FileCheck %s --check-prefix=NUM
// NUM-NOT: MISMATCH
// NUM: 72 passed, 0 failed
// A 4-bit grid: unsigned codes index its levels; layers given another width
// by qt.weight_bits keep evenly spaced codes. Bad grids are errors.
// RUN: qtc-opt %s --split-input-file --qt-quantize-weights="bits=4 group-size=32 grid=iq4nl" --canonicalize | FileCheck %s --check-prefix=GRID
// RUN: not qtc-opt %s --split-input-file --qt-quantize-weights="bits=3 grid=nf4" 2>&1 | FileCheck %s --check-prefix=BADGRID
// RUN: not qtc-opt %s --split-input-file --qt-quantize-weights="grid=nf4 asym" 2>&1 | FileCheck %s --check-prefix=GRIDASYM
// BADGRID: error: grid 'nf4' is not a grid for 3-bit codes; expected uniform, nf4 or iq4nl (nf4 and iq4nl are 4-bit grids)
// GRIDASYM: error: grid 'nf4' has no zero point; drop asym

// B read as (k, n): a K x N constant.
// CHECK-LABEL: func @kn
// CHECK-NOT: linalg.matmul
// CHECK-DAG: %[[S:.*]] = arith.constant dense_resource<proj.weight.q4g32.scales> : tensor<8x2xf16>
// CHECK-DAG: %[[W:.*]] = arith.constant dense_resource<proj.weight.q4g32> : tensor<8x32xi8>
// CHECK: %[[Y:.*]] = qt.quantized_matmul %arg0, %[[W]], %[[S]] {format = #qt.packed<si4, group_size = 32, scale = f16>} : tensor<?x64xf32>, tensor<8x32xi8>, tensor<8x2xf16> -> tensor<?x8xf32>
// CHECK: return %[[Y]]
// GRID-LABEL: func @kn
// GRID: qt.quantized_matmul %arg0, %{{.*}}, %{{.*}} {format = #qt.packed<ui4, group_size = 32, scale = f16, levels = [-1.000000e+00, -0.818897664, -0.653543293, -5.118110e-01, -0.385826766, -0.275590539, -0.173228353, -0.0787401571, 0.00787401571, 0.102362208, 0.196850389, 0.299212605, 0.417322844, 0.543307066, 0.700787425, 0.889763772]>} : tensor<?x64xf32>, tensor<8x32xi8>, tensor<8x2xf16> -> tensor<?x8xf32>
// ASYM-LABEL: func @kn
// ASYM: qt.quantized_matmul %arg0, %{{.*}}, %{{.*}} zero_points(%{{.*}} : tensor<8x2xi8>) {format = #qt.packed<ui3, group_size = 32, scale = f16, zero_point>} : tensor<?x64xf32>, tensor<8x24xi8>, tensor<8x2xf16> -> tensor<?x8xf32>
func.func @kn(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
  %w = arith.constant dense_resource<proj.weight> : tensor<64x8xf32>
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x64xf32>
  %i = tensor.empty(%m) : tensor<?x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%i : tensor<?x8xf32>) -> tensor<?x8xf32>
  // expected-warning @+1 {{weight 'proj.weight' (8x64) not quantized: group size 6 does not divide the reduction dimension 64}}
  %y = linalg.matmul ins(%x, %w : tensor<?x64xf32>, tensor<64x8xf32>) outs(%z : tensor<?x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

{-#
  dialect_resources: {
    builtin: {
      proj.weight: "0x04000000000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE000000BE000000000000003E0000803E0000C03E0000003F0000203F0000403F000040BF000020BF000000BF0000C0BE000080BE"
    }
  }
#-}

// -----

// B read as (n, k) through the maps (the Hugging Face layout), with a
// per-layer width from qt.weight_bits; 16 keeps the second layer real.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
// GRID-LABEL: func @nk_override
// GRID: {format = #qt.packed<si8, group_size = 32, scale = f16>}
// CHECK-LABEL: func @nk_override
// CHECK: qt.quantized_matmul %arg0, %{{.*}}, %{{.*}} {format = #qt.packed<si8, group_size = 32, scale = f16>} : tensor<2x96xf32>, tensor<4x96xi8>, tensor<4x3xf16> -> tensor<2x4xf32>
// CHECK: linalg.matmul
// CHECK-NOT: qt.quantized_matmul
// ASYM-LABEL: func @nk_override
// ASYM: format = #qt.packed<ui8, group_size = 32, scale = f16, zero_point>
func.func @nk_override(%x: tensor<2x96xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %w = arith.constant dense<0.25> : tensor<4x96xf32>
  %zero = arith.constant 0.0 : f32
  %i = tensor.empty() : tensor<2x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%i : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark @+1 {{weight 'matmul_0' (4x96) quantized to 8 bits, group 6}}
  %y = linalg.matmul indexing_maps = [#a, #b, #c] {qt.weight_bits = 8 : i64} ins(%x, %w : tensor<2x96xf32>, tensor<4x96xf32>) outs(%z : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark @+1 {{weight 'matmul_1' (4x96) kept real-valued}}
  %y2 = linalg.matmul indexing_maps = [#a, #b, #c] {qt.weight_bits = 16 : i64} ins(%x, %w : tensor<2x96xf32>, tensor<4x96xf32>) outs(%z : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y, %y2 : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// Not a weight: B is computed, or the matmul accumulates into a live value.
// CHECK-LABEL: func @left_alone
// CHECK-COUNT-2: linalg.matmul
// CHECK-NOT: qt.quantized_matmul
func.func @left_alone(%x: tensor<2x32xf32>, %b: tensor<32x4xf32>, %acc: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %w = arith.constant dense<0.5> : tensor<32x4xf32>
  %zero = arith.constant 0.0 : f32
  %i = tensor.empty() : tensor<2x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%i : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = linalg.matmul ins(%x, %b : tensor<2x32xf32>, tensor<32x4xf32>) outs(%z : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y2 = linalg.matmul ins(%x, %w : tensor<2x32xf32>, tensor<32x4xf32>) outs(%acc : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y, %y2 : tensor<2x4xf32>, tensor<2x4xf32>
}
