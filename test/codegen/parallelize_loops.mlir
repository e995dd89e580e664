// qt-parallelize-loops: large linalg ops at function level are split along
// their first parallel loop into at most `chunks` equal pieces under an
// scf.forall; reductions, small ops, matmuls, fills, dynamic shapes and ops
// inside loops are left alone.
// RUN: qtc-opt %s --split-input-file --qt-parallelize-loops | FileCheck %s
// RUN: qtc-opt %s --split-input-file --qt-parallelize-loops="chunks=3 min-iterations=10" | FileCheck %s --check-prefix=OPTS
// RUN: not qtc-opt %s --split-input-file --qt-parallelize-loops="chunks=0" 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: error: qt-parallelize-loops: chunks must be at least 1, not 0

// An elementwise op over 8 x 16 x 384 points: 8 pieces of one batch row.
// CHECK-LABEL: func.func @elementwise
// CHECK: %[[R:.*]] = scf.forall (%[[I:.*]]) in (8) shared_outs(%[[O:.*]] = %{{.*}}) -> (tensor<8x16x384xf32>)
// CHECK: %[[X:.*]] = tensor.extract_slice %arg0[%[[I]], 0, 0] [1, 16, 384] [1, 1, 1]
// CHECK: %[[OS:.*]] = tensor.extract_slice %[[O]][%[[I]], 0, 0] [1, 16, 384] [1, 1, 1]
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<1x16x384xf32>) outs(%[[OS]] : tensor<1x16x384xf32>)
// CHECK: math.erf
// CHECK: tensor.parallel_insert_slice %[[G]] into %[[O]][%[[I]], 0, 0] [1, 16, 384] [1, 1, 1]
// CHECK: return %[[R]]
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @elementwise(%x: tensor<8x16x384xf32>) -> tensor<8x16x384xf32> {
  %e = tensor.empty() : tensor<8x16x384xf32>
  %y = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<8x16x384xf32>) outs(%e : tensor<8x16x384xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.erf %a : f32
    linalg.yield %r : f32
  } -> tensor<8x16x384xf32>
  return %y : tensor<8x16x384xf32>
}

// -----

// Row sums of 128 x 384: 16 pieces of 8 rows; the reduction stays whole in
// each, so the sums do not depend on the thread count.
// CHECK-LABEL: func.func @row_sums
// CHECK: scf.forall (%[[I:.*]]) = (0) to (128) step (8)
// CHECK: tensor.extract_slice %arg0[%[[I]], 0] [8, 384] [1, 1]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<8x384xf32>) outs(%{{.*}} : tensor<8xf32>)
// CHECK: tensor.parallel_insert_slice %{{.*}}[%[[I]]] [8] [1]
#rows = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @row_sums(%x: tensor<128x384xf32>, %init: tensor<128xf32>) -> tensor<128xf32> {
  %y = linalg.generic {indexing_maps = [#rows, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<128x384xf32>) outs(%init : tensor<128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<128xf32>
  return %y : tensor<128xf32>
}

// -----

// The first loop is a reduction: the first parallel one is split.
// CHECK-LABEL: func.func @column_sums
// CHECK: scf.forall (%{{.*}}) = (0) to (128) step (8)
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%{{.*}} : tensor<384x8xf32>) outs(%{{.*}} : tensor<8xf32>)
#cols = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @column_sums(%x: tensor<384x128xf32>, %init: tensor<128xf32>) -> tensor<128xf32> {
  %y = linalg.generic {indexing_maps = [#cols, #col], iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<384x128xf32>) outs(%init : tensor<128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<128xf32>
  return %y : tensor<128xf32>
}

// -----

// Attention's batched products: 96 batches, 16 pieces of 6.
// CHECK-LABEL: func.func @batch_matmul
// CHECK: scf.forall (%{{.*}}) = (0) to (96) step (6)
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<6x16x32xf32>, tensor<6x32x16xf32>) outs(%{{.*}} : tensor<6x16x16xf32>)
func.func @batch_matmul(%a: tensor<96x16x32xf32>, %b: tensor<96x32x16xf32>, %c: tensor<96x16x16xf32>) -> tensor<96x16x16xf32> {
  %y = linalg.batch_matmul ins(%a, %b : tensor<96x16x32xf32>, tensor<96x32x16xf32>) outs(%c : tensor<96x16x16xf32>) -> tensor<96x16x16xf32>
  return %y : tensor<96x16x16xf32>
}

// -----

// Left alone: a small op, a matmul (qt-tile-quantized-matmul's), a fill,
// dynamic shapes, an op inside a loop.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: scf.forall
// CHECK: return
// OPTS-LABEL: func.func @left_alone
// OPTS: scf.forall (
// OPTS-NOT: scf.forall (
// OPTS: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @left_alone(%x: tensor<4x64xf32>, %a: tensor<256x256xf32>, %d: tensor<?x4096xf32>,
                      %n: index) -> (tensor<4x64xf32>, tensor<256x256xf32>, tensor<256x256xf32>, tensor<?x4096xf32>, tensor<256x256xf32>) {
  %e = tensor.empty() : tensor<4x64xf32>
  %small = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.negf %v : f32
    linalg.yield %r : f32
  } -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<256x256xf32>
  %filled = linalg.fill ins(%zero : f32) outs(%e2 : tensor<256x256xf32>) -> tensor<256x256xf32>
  %mm = linalg.matmul ins(%a, %a : tensor<256x256xf32>, tensor<256x256xf32>) outs(%filled : tensor<256x256xf32>) -> tensor<256x256xf32>
  %ed = tensor.empty(%n) : tensor<?x4096xf32>
  %dyn = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%d : tensor<?x4096xf32>) outs(%ed : tensor<?x4096xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.negf %v : f32
    linalg.yield %r : f32
  } -> tensor<?x4096xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %looped = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %a) -> (tensor<256x256xf32>) {
    %next = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
        ins(%acc : tensor<256x256xf32>) outs(%e2 : tensor<256x256xf32>) {
    ^bb0(%v: f32, %o: f32):
      %r = arith.negf %v : f32
      linalg.yield %r : f32
    } -> tensor<256x256xf32>
    scf.yield %next : tensor<256x256xf32>
  }
  return %small, %mm, %filled, %dyn, %looped : tensor<4x64xf32>, tensor<256x256xf32>, tensor<256x256xf32>, tensor<?x4096xf32>, tensor<256x256xf32>
}

// -----

// chunks=3 on a range of 10: the smallest divisor giving at most 3 pieces
// is 5 (2 pieces).
// OPTS-LABEL: func.func @uneven
// OPTS: scf.forall (%{{.*}}) = (0) to (10) step (5)
// OPTS: linalg.generic {{.*}} ins(%{{.*}} : tensor<5x8xf32>)
func.func @uneven(%x: tensor<10x8xf32>) -> tensor<10x8xf32> {
  %e = tensor.empty() : tensor<10x8xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<10x8xf32>) outs(%e : tensor<10x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.negf %v : f32
    linalg.yield %r : f32
  } -> tensor<10x8xf32>
  return %y : tensor<10x8xf32>
}
