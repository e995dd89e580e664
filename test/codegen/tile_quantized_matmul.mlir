// qt-tile-quantized-matmul: GEMMs over enough rows are split into weight
// panels sized from the target; each panel is decoded once by a tile-sized
// qt.dequantize and multiplied with all rows.
// RUN: qtc-opt %s --split-input-file --qt-tile-quantized-matmul="l1-bytes=49152 vector-bits=512" | FileCheck %s
// RUN: qtc-opt %s --split-input-file --qt-tile-quantized-matmul="l1-bytes=32768 vector-bits=256" | FileCheck %s --check-prefix=AVX2
// RUN: qtc-opt %s --split-input-file --qt-tile-quantized-matmul="l1-bytes=49152 vector-bits=512 min-rows=4" | FileCheck %s --check-prefix=FUSED
// RUN: qtc-opt %s --split-input-file --qt-tile-quantized-matmul="l1-bytes=49152 vector-bits=512 parallel-min-macs=0" | FileCheck %s --check-prefix=POOL
// RUN: qtc-opt %s --split-input-file --qt-tile-quantized-matmul="l1-bytes=49152 vector-bits=512 reassociate=false" | FileCheck %s --check-prefix=STRICT
// The tiled form lowers through the CPU pipeline without ever holding the
// [1024, 1024] real-valued weight matrix.
// RUN: qtc-opt %s --split-input-file --qt-cpu-pipeline | FileCheck %s --check-prefix=LOWERED

// AVX-512 with a 48 KiB L1: tk = 16 x 16 lanes = 256; the panel may use
// 24 KiB, so tn = 24, rounded down to a divisor of 1024: 16.
// CHECK-LABEL: func.func @gemm
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK: scf.forall (%[[T:.*]]) in (64) shared_outs(%[[Y:.*]] = %{{.*}}) -> (tensor<64x1024xf32>)
// CHECK: %[[N0:.*]] = arith.muli %[[T]], %[[C16]]
// CHECK: %[[YT:.*]] = tensor.extract_slice %[[Y]][0, %[[N0]]] [64, 16] [1, 1]
// CHECK: scf.for %[[K0:.*]] = %{{.*}} to %{{.*}} step %[[C256]] iter_args(%[[ACC:.*]] = %[[YT]]) -> (tensor<64x16xf32>)
// CHECK: %[[W:.*]] = tensor.extract_slice %arg1[%[[N0]], %{{.*}}] [16, 128] [1, 1] : tensor<1024x512xi8> to tensor<16x128xi8>
// CHECK: %[[S:.*]] = tensor.extract_slice %arg2[%[[N0]], %{{.*}}] [16, 8] [1, 1] : tensor<1024x32xf16> to tensor<16x8xf16>
// CHECK: %[[Z:.*]] = tensor.extract_slice %arg3[%[[N0]], %{{.*}}] [16, 8] [1, 1] : tensor<1024x32xi8> to tensor<16x8xi8>
// CHECK: %[[P:.*]] = qt.dequantize %[[W]], %[[S]] zero_points(%[[Z]] : tensor<16x8xi8>) {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>} : tensor<16x128xi8>, tensor<16x8xf16> -> tensor<16x256xf32>
// CHECK: %[[X:.*]] = tensor.extract_slice %arg0[0, %[[K0]]] [64, 256] [1, 1]
// The tile contraction is register-blocked: 4 rows x 4 panel rows of
// 16-lane accumulators over the tile's k, each reduced once into the tile.
// CHECK: scf.for %[[M0:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[ACC]]) -> (tensor<64x16xf32>)
// CHECK: scf.for %[[J0:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}}) -> (tensor<64x16xf32>)
// CHECK: scf.for %[[KK:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> ({{(vector<16xf32>, )+}}vector<16xf32>)
// CHECK-COUNT-4: vector.transfer_read %[[X]][%{{.*}}, %[[KK]]]
// CHECK-COUNT-4: vector.transfer_read %[[P]][%{{.*}}, %[[KK]]]
// CHECK-COUNT-16: arith.mulf
// CHECK: scf.yield
// CHECK-COUNT-16: vector.reduction <add>
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[Y]][0, %[[N0]]] [64, 16] [1, 1]
// CHECK-NOT: qt.quantized_matmul
// Under --strict-fp (reassociate=false) each dot product stays in order.
// STRICT-LABEL: func.func @gemm
// STRICT-NOT: vector.reduction
// STRICT: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<64x256xf32>, tensor<16x256xf32>) outs(%{{.*}} : tensor<64x16xf32>)
// AVX2 with a 32 KiB L1: tk = 16 x 8 lanes = 128, tn = 16 KiB / 512 B = 32.
// AVX2-LABEL: func.func @gemm
// AVX2: qt.dequantize {{.*}} -> tensor<32x128xf32>
// The n tiles are an scf.forall, lowered to an OpenMP region that the
// runtime's thread pool runs (runtime/parallel.c).
// LOWERED-LABEL: llvm.func @gemm
// LOWERED-NOT: 1024x1024xf32
// LOWERED-NOT: 1048576
// LOWERED: omp.parallel
// LOWERED: omp.wsloop
func.func @gemm(%x: tensor<64x1024xf32>, %w: tensor<1024x512xi8>, %s: tensor<1024x32xf16>,
                %z: tensor<1024x32xi8>) -> tensor<64x1024xf32> {
  %y = qt.quantized_matmul %x, %w, %s zero_points(%z : tensor<1024x32xi8>)
      {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
      : tensor<64x1024xf32>, tensor<1024x512xi8>, tensor<1024x32xf16> -> tensor<64x1024xf32>
  return %y : tensor<64x1024xf32>
}

// -----

// Leading dims are collapsed and restored; the bias is added after the
// loops. 16 x 1024 x 256 = 4M multiply-accumulates: parallel.
// CHECK-LABEL: func.func @batched_bias
// CHECK: tensor.collapse_shape %arg0 {{\[}}[0, 1], [2]] : tensor<2x8x1024xf32> into tensor<16x1024xf32>
// CHECK: scf.forall
// CHECK: qt.dequantize {{.*}} -> tensor<16x256xf32>
// CHECK: vector.reduction <add>
// CHECK: arith.addf
// CHECK: -> tensor<2x8x256xf32>
func.func @batched_bias(%x: tensor<2x8x1024xf32>, %w: tensor<256x512xi8>, %s: tensor<256x8xf16>,
                        %b: tensor<256xf32>) -> tensor<2x8x256xf32> {
  %y = qt.quantized_matmul %x, %w, %s bias(%b : tensor<256xf32>)
      {format = #qt.packed<si4, group_size = 128, scale = f16>}
      : tensor<2x8x1024xf32>, tensor<256x512xi8>, tensor<256x8xf16> -> tensor<2x8x256xf32>
  return %y : tensor<2x8x256xf32>
}

// -----

// A single row is tiled too by default, on the calling thread: 1M
// multiply-accumulates are below parallel-min-macs (4M), so the tiles are
// an scf.for; with parallel-min-macs=0 they go to the pool. With
// min-rows=4 (fewer rows than that: a decoding step) the fused form stays.
// At most 4 rows, the tile's codes are decoded in registers: no panel.
// Per group of 32 codes, each of 4 columns gets its scale (and -zp * s)
// as vectors; per step of 16 codes, 8 bytes per column are split into
// low and high nibbles, interleaved into code order, sign-extended,
// converted and scaled by one fma, then multiplied with the row of x.
// CHECK-LABEL: func.func @gemv
// CHECK-NOT: scf.forall
// CHECK-NOT: qt.dequantize
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<1x1024xf32>)
// CHECK: scf.for %[[G:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-4: tensor.extract %{{.*}}[%{{.*}}, %[[G]]] : tensor<16x8xf16>
// CHECK: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: vector.transfer_read %{{.*}} : tensor<1x256xf32>, vector<16xf32>
// CHECK: vector.transfer_read %{{.*}} : tensor<16x128xi8>, vector<8xi8>
// CHECK: arith.andi %{{.*}} : vector<8xi8>
// CHECK: arith.shrui %{{.*}} : vector<8xi8>
// CHECK: vector.interleave %{{.*}} : vector<8xi8> -> vector<16xi8>
// CHECK: arith.shli %{{.*}} : vector<16xi8>
// CHECK: arith.shrsi %{{.*}} : vector<16xi8>
// CHECK: arith.sitofp %{{.*}} : vector<16xi8> to vector<16xf32>
// CHECK: math.fma
// CHECK-COUNT-3: vector.interleave
// CHECK-COUNT-4: arith.mulf %{{.*}} : vector<16xf32>
// CHECK-NOT: qt.dequantize
// CHECK-LABEL: func.func @gemv_u2
// POOL-LABEL: func.func @gemv
// POOL: scf.forall (%{{.*}}) in (64)
// FUSED-LABEL: func.func @gemv
// FUSED-NOT: scf.forall
// FUSED: qt.quantized_matmul
// Under --strict-fp the sums keep their order: decoded panels again.
// STRICT-LABEL: func.func @gemv
// STRICT: qt.dequantize
// STRICT-NOT: vector.interleave
// On AVX2 (8 lanes) groups of 32 hold whole vectors too.
// AVX2-LABEL: func.func @gemv
// AVX2-NOT: qt.dequantize
// AVX2: vector.interleave %{{.*}} : vector<4xi8> -> vector<8xi8>
func.func @gemv(%x: tensor<1x1024xf32>, %w: tensor<1024x512xi8>, %s: tensor<1024x32xf16>)
    -> tensor<1x1024xf32> {
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<si4, group_size = 32, scale = f16>}
      : tensor<1x1024xf32>, tensor<1024x512xi8>, tensor<1024x32xf16> -> tensor<1x1024xf32>
  return %y : tensor<1x1024xf32>
}

// Unsigned 2-bit codes with zero points, 2 rows: four fields per byte,
// interleaved twice into code order, converted unsigned, zero point folded
// into the fma's addend (-zp * s). Groups of 8 do not hold a vector of 16:
// those stay on decoded panels.
// CHECK: arith.uitofp %{{.*}} : i8 to f32
// CHECK: arith.negf
// CHECK: vector.transfer_read %{{.*}} : tensor<16x64xi8>, vector<4xi8>
// CHECK-COUNT-3: arith.shrui %{{.*}} : vector<4xi8>
// CHECK: vector.interleave %{{.*}} : vector<4xi8> -> vector<8xi8>
// CHECK: vector.interleave %{{.*}} : vector<4xi8> -> vector<8xi8>
// CHECK: vector.interleave %{{.*}} : vector<8xi8> -> vector<16xi8>
// CHECK: arith.uitofp %{{.*}} : vector<16xi8> to vector<16xf32>
// CHECK: math.fma
// CHECK-LABEL: func.func @gemv_g8
// CHECK: qt.dequantize
func.func @gemv_u2(%x: tensor<2x1024xf32>, %w: tensor<1024x256xi8>, %s: tensor<1024x32xf32>,
                   %z: tensor<1024x32xi8>) -> tensor<2x1024xf32> {
  %y = qt.quantized_matmul %x, %w, %s zero_points(%z : tensor<1024x32xi8>)
      {format = #qt.packed<ui2, group_size = 32, scale = f32, zero_point>}
      : tensor<2x1024xf32>, tensor<1024x256xi8>, tensor<1024x32xf32> -> tensor<2x1024xf32>
  return %y : tensor<2x1024xf32>
}
func.func @gemv_g8(%x: tensor<1x1024xf32>, %w: tensor<1024x512xi8>, %s: tensor<1024x128xf16>)
    -> tensor<1x1024xf32> {
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<si4, group_size = 8, scale = f16>}
      : tensor<1x1024xf32>, tensor<1024x512xi8>, tensor<1024x128xf16> -> tensor<1x1024xf32>
  return %y : tensor<1x1024xf32>
}

// -----

// A matrix no larger than one panel is left alone: its only tile would be
// a real-valued copy of the whole weight.
// CHECK-LABEL: func.func @small
// CHECK-NOT: qt.dequantize
// CHECK: qt.quantized_matmul
func.func @small(%x: tensor<8x64xf32>, %w: tensor<16x32xi8>, %s: tensor<16x2xf16>)
    -> tensor<8x16xf32> {
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<si4, group_size = 32, scale = f16>}
      : tensor<8x64xf32>, tensor<16x32xi8>, tensor<16x2xf16> -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}

// -----

// Dynamic rows: the count is unknown, the fused form stays.
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: scf.forall
// CHECK: qt.quantized_matmul
func.func @dynamic(%x: tensor<?x1024xf32>, %w: tensor<1024x512xi8>, %s: tensor<1024x32xf16>)
    -> tensor<?x1024xf32> {
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<si4, group_size = 32, scale = f16>}
      : tensor<?x1024xf32>, tensor<1024x512xi8>, tensor<1024x32xf16> -> tensor<?x1024xf32>
  return %y : tensor<?x1024xf32>
}

// -----

// Real-valued matmuls have nothing to decode; from 4M multiply-accumulates
// on, their column tiles go to the thread pool. With B read as (k, n) and
// f32 elements, tiles are 32 columns (or K x tn weights filling half of L1,
// if wider) and each becomes a vector kernel: 32-column chunks (two 16-lane
// vectors, with 512-bit vectors), blocks of 4 rows whose 8 accumulators
// stay in vectors over the whole k loop, two row pieces of B per k step.
// CHECK-LABEL: func.func @real
// CHECK: scf.forall (%[[J:.*]]) = (0) to (1536) step (32) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<128x1536xf32>)
// CHECK: %[[BT:.*]] = tensor.extract_slice %{{.*}}[0, %[[J]]] [384, 32] [1, 1]
// CHECK: scf.for %[[N0:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<128x32xf32>)
// CHECK: %[[N1:.*]] = arith.addi %[[N0]], %{{.*}} : index
// CHECK: scf.for %[[M0:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[CT:.*]] = %{{.*}}) -> (tensor<128x32xf32>)
// CHECK-COUNT-8: vector.transfer_read %[[CT]][%{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<128x32xf32>, vector<16xf32>
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: %[[ROW:.*]] = vector.transfer_read %[[BT]][%[[K]], %[[N0]]]
// CHECK: vector.transfer_read %[[BT]][%[[K]], %[[N1]]]
// CHECK: %[[X:.*]] = tensor.extract %{{.*}}[%[[M0]], %[[K]]] : tensor<128x384xf32>
// CHECK: %[[XS:.*]] = vector.broadcast %[[X]] : f32 to vector<16xf32>
// CHECK: %[[P:.*]] = arith.mulf %[[XS]], %[[ROW]] : vector<16xf32>
// CHECK: arith.addf %{{.*}}, %[[P]] : vector<16xf32>
// CHECK-COUNT-7: arith.addf
// CHECK: scf.yield
// CHECK-COUNT-8: vector.transfer_write
// CHECK: tensor.parallel_insert_slice
// CHECK-NOT: linalg.matmul
// With 256-bit vectors (16 registers), one 16-column vector per chunk.
// AVX2-LABEL: func.func @real
// AVX2: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-LABEL: func.func @real_small
// CHECK-NOT: scf.forall
// CHECK: scf.for {{.*}} -> (tensor<8x64xf32>)
// CHECK: vector.transfer_read {{.*}} : tensor<64x64xf32>, vector<16xf32>
// Narrower than 4 columns, the matmul still loops over
// (m, k, n), as a generic.
// CHECK-LABEL: func.func @real_odd
// CHECK: linalg.generic {indexing_maps = [#[[A:.*]], #[[B:.*]], #[[C:.*]]], iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<8x64xf32>, tensor<64x3xf32>)
func.func @real(%a: tensor<128x384xf32>, %b: tensor<384x1536xf32>) -> tensor<128x1536xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x1536xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<128x1536xf32>) -> tensor<128x1536xf32>
  %y = linalg.matmul ins(%a, %b : tensor<128x384xf32>, tensor<384x1536xf32>)
      outs(%f : tensor<128x1536xf32>) -> tensor<128x1536xf32>
  return %y : tensor<128x1536xf32>
}
func.func @real_small(%a: tensor<8x64xf32>, %b: tensor<64x64xf32>) -> tensor<8x64xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x64xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<8x64xf32>) -> tensor<8x64xf32>
  %y = linalg.matmul ins(%a, %b : tensor<8x64xf32>, tensor<64x64xf32>)
      outs(%f : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
func.func @real_odd(%a: tensor<8x64xf32>, %b: tensor<64x3xf32>) -> tensor<8x3xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x3xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<8x3xf32>) -> tensor<8x3xf32>
  %y = linalg.matmul ins(%a, %b : tensor<8x64xf32>, tensor<64x3xf32>)
      outs(%f : tensor<8x3xf32>) -> tensor<8x3xf32>
  return %y : tensor<8x3xf32>
}

// -----

// B read as (n, k) (a Hugging Face Linear): register-blocked dot products
// over B itself, 4 rows x 4 columns of 16-lane accumulators; in order under
// reassociate=false.
// CHECK-LABEL: func.func @real_nk
// CHECK: scf.for {{.*}} -> ({{(vector<16xf32>, )+}}vector<16xf32>)
// CHECK-COUNT-16: vector.reduction <add>
// CHECK-NOT: linalg.matmul
// STRICT-LABEL: func.func @real_nk
// STRICT-NOT: vector.reduction
// STRICT: linalg.matmul
func.func @real_nk(%a: tensor<8x64xf32>, %b: tensor<32x64xf32>) -> tensor<8x32xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<8x64xf32>, tensor<32x64xf32>)
      outs(%f : tensor<8x32xf32>) -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

// The widened operands of MatMulInteger (i32, B as (k, n)) get the same
// (m, k, n) vector kernel with integer multiply-adds (exact, any order).
// CHECK-LABEL: func.func @integer
// CHECK: scf.for {{.*}} -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>)
// CHECK: vector.transfer_read {{.*}} : tensor<64x32xi32>, vector<16xi32>
// CHECK: arith.muli {{.*}} : vector<16xi32>
// CHECK: arith.addi {{.*}} : vector<16xi32>
// CHECK-NOT: linalg.matmul
func.func @integer(%a: tensor<8x64xi32>, %b: tensor<64x32xi32>) -> tensor<8x32xi32> {
  %z = arith.constant 0 : i32
  %e = tensor.empty() : tensor<8x32xi32>
  %f = linalg.fill ins(%z : i32) outs(%e : tensor<8x32xi32>) -> tensor<8x32xi32>
  %y = linalg.matmul ins(%a, %b : tensor<8x64xi32>, tensor<64x32xi32>)
      outs(%f : tensor<8x32xi32>) -> tensor<8x32xi32>
  return %y : tensor<8x32xi32>
}

// -----

// MatMulInteger's weights, widened to i32 minus their zero point: the
// kernel reads the i8 codes and widens them in registers.
// CHECK-LABEL: func.func @integer_widened
// CHECK: %[[ZP:.*]] = tensor.extract %arg2[] : tensor<i8>
// CHECK: %[[ZP32:.*]] = arith.extsi %[[ZP]] : i8 to i32
// CHECK: %[[ZPV:.*]] = vector.broadcast %[[ZP32]] : i32 to vector<16xi32>
// CHECK: scf.for
// CHECK: %[[CODES:.*]] = vector.transfer_read %arg1[{{.*}} : tensor<64x32xi8>, vector<16xi8>
// CHECK: %[[WIDE:.*]] = arith.extsi %[[CODES]] : vector<16xi8> to vector<16xi32>
// CHECK: arith.subi %[[WIDE]], %[[ZPV]] : vector<16xi32>
func.func @integer_widened(%a: tensor<8x64xi32>, %q: tensor<64x32xi8>, %zp: tensor<i8>) -> tensor<8x32xi32> {
  %e0 = tensor.empty() : tensor<64x32xi32>
  %b = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%q, %zp : tensor<64x32xi8>, tensor<i8>) outs(%e0 : tensor<64x32xi32>) {
  ^bb0(%in: i8, %z: i8, %out: i32):
    %x = arith.extsi %in : i8 to i32
    %y = arith.extsi %z : i8 to i32
    %d = arith.subi %x, %y : i32
    linalg.yield %d : i32
  } -> tensor<64x32xi32>
  %c0 = arith.constant 0 : i32
  %e = tensor.empty() : tensor<8x32xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<8x32xi32>) -> tensor<8x32xi32>
  %y = linalg.matmul ins(%a, %b : tensor<8x64xi32>, tensor<64x32xi32>)
      outs(%f : tensor<8x32xi32>) -> tensor<8x32xi32>
  return %y : tensor<8x32xi32>
}

// -----

// Two matmuls that read one (CSE'd) zero fill each get a fill of their
// own, so bufferization fills each output in place instead of copying the
// shared one.
// CHECK-LABEL: func.func @shared_fill
// CHECK: %[[F1:.*]] = linalg.fill
// CHECK: %[[F2:.*]] = linalg.fill
// CHECK-NOT: linalg.fill
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[F2]])
// CHECK-NOT: linalg.fill
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[F1]])
// CHECK-NOT: linalg.fill
// CHECK: return
func.func @shared_fill(%a: tensor<8x64xf32>, %b1: tensor<64x32xf32>, %b2: tensor<64x32xf32>) -> (tensor<8x32xf32>, tensor<8x32xf32>) {
  %c0 = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %f = linalg.fill ins(%c0 : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %y1 = linalg.matmul ins(%a, %b1 : tensor<8x64xf32>, tensor<64x32xf32>)
      outs(%f : tensor<8x32xf32>) -> tensor<8x32xf32>
  %y2 = linalg.matmul ins(%a, %b2 : tensor<8x64xf32>, tensor<64x32xf32>)
      outs(%f : tensor<8x32xf32>) -> tensor<8x32xf32>
  return %y1, %y2 : tensor<8x32xf32>, tensor<8x32xf32>
}

// -----

// Codes on a non-uniform grid (levels), one row: decoded in registers too.
// With grid-lookup=permute each vector of 16 codes indexes the 16 levels
// with one qt.lookup (vpermps after qt-lower-int8-dot); on 8 lanes the
// levels fill two tables and bit 3 of the code picks one; with
// grid-lookup=select a tree of 15 selects picks the level. Either way the
// level is multiplied by the group's scale: no zero point, no conversion.
// RUN: qtc-opt %s --split-input-file --qt-tile-quantized-matmul="l1-bytes=49152 vector-bits=512 grid-lookup=permute" | FileCheck %s --check-prefix=GRIDP
// RUN: qtc-opt %s --split-input-file --qt-tile-quantized-matmul="l1-bytes=32768 vector-bits=256 grid-lookup=permute" | FileCheck %s --check-prefix=GRIDP8
// RUN: qtc-opt %s --split-input-file --qt-tile-quantized-matmul="l1-bytes=49152 vector-bits=512 grid-lookup=select" | FileCheck %s --check-prefix=GRIDS
// RUN: not qtc-opt %s --split-input-file --qt-tile-quantized-matmul="grid-lookup=shuffle" 2>&1 | FileCheck %s --check-prefix=GRIDBAD
// GRIDP-LABEL: func.func @gemv_grid
// GRIDP-NOT: qt.dequantize
// GRIDP: arith.constant dense<[-1.000000e+00, -8.750000e-01, {{.*}}, 8.750000e-01]> : vector<16xf32>
// GRIDP: vector.interleave %{{.*}} : vector<8xi8> -> vector<16xi8>
// GRIDP: %[[I:.*]] = arith.extui %{{.*}} : vector<16xi8> to vector<16xi32>
// GRIDP: %[[L:.*]] = qt.lookup %{{.*}}, %[[I]] : vector<16xf32>, vector<16xi32>
// GRIDP: arith.mulf %[[L]], %{{.*}} : vector<16xf32>
// GRIDP-NOT: arith.uitofp %{{.*}} : vector<16xi8>
// GRIDP8-LABEL: func.func @gemv_grid
// GRIDP8: %[[LO:.*]] = qt.lookup %{{.*}}, %[[I:.*]] : vector<8xf32>, vector<8xi32>
// GRIDP8: %[[HI:.*]] = qt.lookup %{{.*}}, %[[I]] : vector<8xf32>, vector<8xi32>
// GRIDP8: arith.andi %{{.*}} : vector<8xi8>
// GRIDP8: %[[B3:.*]] = arith.cmpi ne, %{{.*}} : vector<8xi8>
// GRIDP8: arith.select %[[B3]], %[[HI]], %[[LO]] : vector<8xi1>, vector<8xf32>
// GRIDS-LABEL: func.func @gemv_grid
// GRIDS-NOT: qt.lookup
// GRIDS-COUNT-15: arith.select %{{.*}} : vector<16xi1>, vector<16xf32>
// GRIDS: arith.mulf
// GRIDBAD: error: grid-lookup must be auto, permute or select, not 'shuffle'
func.func @gemv_grid(%x: tensor<1x1024xf32>, %w: tensor<1024x512xi8>, %s: tensor<1024x32xf16>)
    -> tensor<1x1024xf32> {
  %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<ui4, group_size = 32, scale = f16,
      levels = [-1.0, -0.875, -0.75, -0.625, -0.5, -0.375, -0.25, -0.125, 0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875]>}
      : tensor<1x1024xf32>, tensor<1024x512xi8>, tensor<1024x32xf16> -> tensor<1x1024xf32>
  return %y : tensor<1x1024xf32>
}
