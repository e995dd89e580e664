// qt-tile-quantized-matmul on MatMulInteger (both operands widened 8-bit
// codes minus rank-0 zero points, B constant) with an int8 dot product
// instruction: B is repacked at compile time (4 consecutive k of each
// column side by side), its column sums become a constant, and the kernel
// accumulates qt.int8_dot (vpdpbusd) over K / 4 steps. Without one
// (int8-dot=none), the i32 (m, k, n) kernel stays.
// RUN: qtc-opt %s --split-input-file --qt-tile-quantized-matmul="int8-dot=avx512vnni" | FileCheck %s
// RUN: qtc-opt %s --split-input-file --qt-tile-quantized-matmul="int8-dot=avxvnni" | FileCheck %s --check-prefix=AVX
// RUN: qtc-opt %s --split-input-file --qt-tile-quantized-matmul="int8-dot=none" | FileCheck %s --check-prefix=NONE
// RUN: not qtc-opt %s --split-input-file --qt-tile-quantized-matmul="int8-dot=sse" 2>&1 | FileCheck %s --check-prefix=BAD
// The lowered kernel calls the instruction's intrinsic.
// RUN: qtc-opt %s --split-input-file --qt-tile-quantized-matmul="int8-dot=avx512vnni" --qt-cpu-pipeline | FileCheck %s --check-prefix=LOWERED

// BAD: error: int8-dot must be auto, none, avx512vnni or avxvnni, not 'sse'

// Unsigned A (rows collapsed from 3-D), signed B with zero point 0 (ONNX
// Runtime's quantize_dynamic): packed[k4, 4 n + j] = B[4 k4 + j, n]; no
// row sums, since B's zero point is 0.
// CHECK-LABEL: func.func @u8_s8
// CHECK-DAG: %[[PACKED:.*]] = arith.constant dense<[{{\[}}0, 16, 32, 48, 1, 17, 33, 49, {{.*}}]> : tensor<1x64xi8>
// CHECK-DAG: %[[SUMS:.*]] = arith.constant dense<[96, 100, 104, 108, {{.*}}]> : tensor<16xi32>
// CHECK-DAG: %[[CODES:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<2x2x4xi8> into tensor<4x4xi8>
// CHECK-NOT: "reduction"
// CHECK: vector.transfer_read %[[SUMS]]
// CHECK: vector.transfer_read %[[PACKED]]{{.*}} : tensor<1x64xi8>, vector<64xi8>
// CHECK: vector.transfer_read %[[CODES]]{{.*}} : tensor<4x4xi8>, vector<4xi8>
// CHECK: qt.int8_dot {{.*}} : vector<64xi8> -> vector<16xi32>
// CHECK-NOT: linalg.matmul
// AVX-LABEL: func.func @u8_s8
// AVX: qt.int8_dot {{.*}} : vector<32xi8> -> vector<8xi32>
// NONE-LABEL: func.func @u8_s8
// NONE-NOT: qt.int8_dot
// NONE: arith.muli {{.*}} : vector<16xi32>
// LOWERED-LABEL: llvm.func @u8_s8
// LOWERED: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
func.func @u8_s8(%a: tensor<2x2x4xi8>, %za: tensor<i8>) -> tensor<4x16xi32> {
  %b = arith.constant dense<[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31], [32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47], [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63]]> : tensor<4x16xi8>
  %zb = arith.constant dense<0> : tensor<i8>
  %ea = tensor.empty() : tensor<2x2x4xi32>
  %aw = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> ()>,
                                         affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a, %za : tensor<2x2x4xi8>, tensor<i8>) outs(%ea : tensor<2x2x4xi32>) {
  ^bb0(%in: i8, %z: i8, %out: i32):
    %x = arith.extui %in : i8 to i32
    %y = arith.extui %z : i8 to i32
    %d = arith.subi %x, %y : i32
    linalg.yield %d : i32
  } -> tensor<2x2x4xi32>
  %ac = tensor.collapse_shape %aw [[0, 1], [2]] : tensor<2x2x4xi32> into tensor<4x4xi32>
  %eb = tensor.empty() : tensor<4x16xi32>
  %bw = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>,
                                         affine_map<(d0, d1) -> (d0, d1)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%b, %zb : tensor<4x16xi8>, tensor<i8>) outs(%eb : tensor<4x16xi32>) {
  ^bb0(%in: i8, %z: i8, %out: i32):
    %x = arith.extsi %in : i8 to i32
    %y = arith.extsi %z : i8 to i32
    %d = arith.subi %x, %y : i32
    linalg.yield %d : i32
  } -> tensor<4x16xi32>
  %c0 = arith.constant 0 : i32
  %e = tensor.empty() : tensor<4x16xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<4x16xi32>) -> tensor<4x16xi32>
  %y = linalg.matmul ins(%ac, %bw : tensor<4x4xi32>, tensor<4x16xi32>)
      outs(%f : tensor<4x16xi32>) -> tensor<4x16xi32>
  return %y : tensor<4x16xi32>
}

// -----

// Signed A becomes unsigned bytes (xor 0x80, zero point + 128); unsigned B
// becomes signed bytes (xor 0x80 at packing), and its zero point, not
// known to be 0 after the shift, brings row sums of A.
// CHECK-LABEL: func.func @s8_u8
// CHECK: arith.xori %{{.*}}, %{{.*}} : i8
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK: arith.extui %{{.*}} : i8 to i32
// CHECK: arith.constant dense<[{{\[}}-128, -112, -96, -80, {{.*}}]> : tensor<1x64xi8>
// CHECK: arith.addi %{{.*}}, %c128_i32 : i32
// CHECK: qt.int8_dot
// CHECK-NOT: linalg.matmul
func.func @s8_u8(%a: tensor<4x4xi8>, %za: tensor<i8>) -> tensor<4x16xi32> {
  %b = arith.constant dense<[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31], [32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47], [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63]]> : tensor<4x16xi8>
  %zb = arith.constant dense<3> : tensor<i8>
  %ea = tensor.empty() : tensor<4x4xi32>
  %aw = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>,
                                         affine_map<(d0, d1) -> (d0, d1)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%a, %za : tensor<4x4xi8>, tensor<i8>) outs(%ea : tensor<4x4xi32>) {
  ^bb0(%in: i8, %z: i8, %out: i32):
    %x = arith.extsi %in : i8 to i32
    %y = arith.extsi %z : i8 to i32
    %d = arith.subi %x, %y : i32
    linalg.yield %d : i32
  } -> tensor<4x4xi32>
  %eb = tensor.empty() : tensor<4x16xi32>
  %bw = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>,
                                         affine_map<(d0, d1) -> (d0, d1)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%b, %zb : tensor<4x16xi8>, tensor<i8>) outs(%eb : tensor<4x16xi32>) {
  ^bb0(%in: i8, %z: i8, %out: i32):
    %x = arith.extui %in : i8 to i32
    %y = arith.extui %z : i8 to i32
    %d = arith.subi %x, %y : i32
    linalg.yield %d : i32
  } -> tensor<4x16xi32>
  %c0 = arith.constant 0 : i32
  %e = tensor.empty() : tensor<4x16xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<4x16xi32>) -> tensor<4x16xi32>
  %y = linalg.matmul ins(%aw, %bw : tensor<4x4xi32>, tensor<4x16xi32>)
      outs(%f : tensor<4x16xi32>) -> tensor<4x16xi32>
  return %y : tensor<4x16xi32>
}

// -----

// B not a constant: no compile-time packing, the i32 kernel stays.
// CHECK-LABEL: func.func @runtime_weights
// CHECK-NOT: qt.int8_dot
// CHECK: arith.muli {{.*}} : vector<16xi32>
func.func @runtime_weights(%a: tensor<4x4xi32>, %q: tensor<4x16xi8>, %zb: tensor<i8>) -> tensor<4x16xi32> {
  %eb = tensor.empty() : tensor<4x16xi32>
  %bw = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>,
                                         affine_map<(d0, d1) -> (d0, d1)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%q, %zb : tensor<4x16xi8>, tensor<i8>) outs(%eb : tensor<4x16xi32>) {
  ^bb0(%in: i8, %z: i8, %out: i32):
    %x = arith.extsi %in : i8 to i32
    %y = arith.extsi %z : i8 to i32
    %d = arith.subi %x, %y : i32
    linalg.yield %d : i32
  } -> tensor<4x16xi32>
  %c0 = arith.constant 0 : i32
  %e = tensor.empty() : tensor<4x16xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<4x16xi32>) -> tensor<4x16xi32>
  %y = linalg.matmul ins(%a, %bw : tensor<4x4xi32>, tensor<4x16xi32>)
      outs(%f : tensor<4x16xi32>) -> tensor<4x16xi32>
  return %y : tensor<4x16xi32>
}
