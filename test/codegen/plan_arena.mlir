// qt-plan-arena: the function-level temporaries of a bufferized function
// share one arena; buffers whose lifetimes are disjoint share bytes, ones
// that overlap never do. Buffers that escape (returned, passed to a call,
// yielded, turned into a tensor), that are small, dynamic or strided, or
// that live inside loops keep their own allocation.
// RUN: qtc-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(qt-plan-arena))" | FileCheck %s
// RUN: qtc-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(qt-plan-arena{min-bytes=1 alignment=256}))" | FileCheck %s --check-prefix=OPTS
// RUN: not qtc-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(qt-plan-arena{alignment=48}))" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: qtc-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(qt-plan-arena{report}))" 2>&1 >/dev/null | FileCheck %s --check-prefix=REPORT

// BAD: error: qt-plan-arena: alignment must be a power of two, not 48

// A chain a -> b -> c -> out: a is dead when c is allocated, so c reuses a's
// bytes; b overlaps both and sits above them. The arena is 2 x 4096 bytes,
// not 3 x 4096.
// CHECK-LABEL: func.func @chain
// CHECK: %[[ARENA:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8192xi8>
// CHECK: %[[A:.*]] = memref.view %[[ARENA]][%[[OA:.*]]][] : memref<8192xi8> to memref<1024xf32>
// CHECK: %[[B:.*]] = memref.view %[[ARENA]][%[[OB:.*]]][] : memref<8192xi8> to memref<1024xf32>
// CHECK: %[[C:.*]] = memref.view %[[ARENA]][%[[OA2:.*]]][] : memref<8192xi8> to memref<1024xf32>
// CHECK-NOT: memref.alloc
// CHECK: return
// OPTS-LABEL: func.func @chain
// OPTS: memref.alloc() {alignment = 256 : i64} : memref<8192xi8>
// REPORT: remark: qt-plan-arena: 3 buffers of 12288 bytes in an arena of 8192 bytes
func.func @chain(%x: memref<1024xf32>, %out: memref<1024xf32>) {
  %a = memref.alloc() {alignment = 64 : i64} : memref<1024xf32>
  linalg.copy ins(%x : memref<1024xf32>) outs(%a : memref<1024xf32>)
  %b = memref.alloc() {alignment = 64 : i64} : memref<1024xf32>
  linalg.add ins(%a, %a : memref<1024xf32>, memref<1024xf32>) outs(%b : memref<1024xf32>)
  %c = memref.alloc() {alignment = 64 : i64} : memref<1024xf32>
  linalg.add ins(%b, %b : memref<1024xf32>, memref<1024xf32>) outs(%c : memref<1024xf32>)
  linalg.add ins(%c, %b : memref<1024xf32>, memref<1024xf32>) outs(%out : memref<1024xf32>)
  return
}
// The offsets: a at 0, b above it, c back at 0 (a's slot).
// CHECK-LABEL: func.func @offsets
// CHECK-DAG: %[[Z:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[K:.*]] = arith.constant 8192 : index
// CHECK: memref.view %{{.*}}[%[[Z]]][] : memref<16384xi8> to memref<2048xf32>
// CHECK: memref.view %{{.*}}[%[[K]]][] : memref<16384xi8> to memref<2048xf32>
// CHECK: memref.view %{{.*}}[%[[Z]]][] : memref<16384xi8> to memref<2048xf32>
func.func @offsets(%x: memref<2048xf32>, %out: memref<2048xf32>) {
  %a = memref.alloc() : memref<2048xf32>
  linalg.copy ins(%x : memref<2048xf32>) outs(%a : memref<2048xf32>)
  %b = memref.alloc() : memref<2048xf32>
  linalg.add ins(%a, %a : memref<2048xf32>, memref<2048xf32>) outs(%b : memref<2048xf32>)
  %c = memref.alloc() : memref<2048xf32>
  linalg.add ins(%b, %b : memref<2048xf32>, memref<2048xf32>) outs(%c : memref<2048xf32>)
  linalg.add ins(%c, %b : memref<2048xf32>, memref<2048xf32>) outs(%out : memref<2048xf32>)
  return
}

// -----

// Lifetimes run through views (a subview read inside a loop after b is
// allocated): a and b overlap and get disjoint bytes, both live to the loop.
// CHECK-LABEL: func.func @views
// CHECK: memref.alloc() {{.*}} : memref<8192xi8>
// CHECK-DAG: memref.view %{{.*}}[%[[Z:.*]]][] : memref<8192xi8> to memref<32x32xf32>
// CHECK-DAG: memref.view %{{.*}}[%[[H:.*]]][] : memref<8192xi8> to memref<32x32xf32>
// CHECK: scf.for
func.func @views(%x: memref<32x32xf32>, %out: memref<32x32xf32>) {
  %a = memref.alloc() : memref<32x32xf32>
  linalg.copy ins(%x : memref<32x32xf32>) outs(%a : memref<32x32xf32>)
  %b = memref.alloc() : memref<32x32xf32>
  linalg.copy ins(%x : memref<32x32xf32>) outs(%b : memref<32x32xf32>)
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  scf.for %i = %c0 to %c32 step %c1 {
    %row = memref.subview %a[%i, 0] [1, 32] [1, 1] : memref<32x32xf32> to memref<32xf32, strided<[1], offset: ?>>
    %brow = memref.subview %b[%i, 0] [1, 32] [1, 1] : memref<32x32xf32> to memref<32xf32, strided<[1], offset: ?>>
    %orow = memref.subview %out[%i, 0] [1, 32] [1, 1] : memref<32x32xf32> to memref<32xf32, strided<[1], offset: ?>>
    linalg.add ins(%row, %brow : memref<32xf32, strided<[1], offset: ?>>, memref<32xf32, strided<[1], offset: ?>>)
               outs(%orow : memref<32xf32, strided<[1], offset: ?>>)
  }
  return
}

// -----

// What stays an allocation of its own: a returned buffer, one passed to a
// call, one yielded from a loop, one read as a tensor, a small one, a
// dynamic one, and one allocated inside a loop. Only %big1 and %big2 remain
// plannable, and they are placed.
// CHECK-LABEL: func.func @escapes
// CHECK: %[[ARENA:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8192xi8>
// CHECK: memref.alloc() : memref<1024xf32>
// CHECK: call @sink
// CHECK: memref.alloc() : memref<1024xf32>
// CHECK: scf.for
// CHECK: memref.alloc() : memref<1024xf32>
// CHECK: bufferization.to_tensor
// CHECK: memref.alloc() : memref<16xf32>
// CHECK: memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: scf.for
// CHECK: memref.alloc() : memref<4096xf32>
// CHECK: memref.view %[[ARENA]]
// CHECK: memref.view %[[ARENA]]
// CHECK: %[[RET:.*]] = memref.alloc() : memref<1024xf32>
// CHECK: return %[[RET]]
// OPTS-LABEL: func.func @escapes
// OPTS: memref.alloc() {alignment = 256 : i64} : memref<{{[0-9]+}}xi8>
func.func private @sink(memref<1024xf32>)
func.func @escapes(%n: index, %x: memref<1024xf32>) -> memref<1024xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %called = memref.alloc() : memref<1024xf32>
  func.call @sink(%called) : (memref<1024xf32>) -> ()
  %init = memref.alloc() : memref<1024xf32>
  %looped = scf.for %i = %c0 to %c4 step %c1 iter_args(%it = %init) -> (memref<1024xf32>) {
    scf.yield %it : memref<1024xf32>
  }
  %tensor = memref.alloc() : memref<1024xf32>
  %t = bufferization.to_tensor %tensor restrict : memref<1024xf32> to tensor<1024xf32>
  %small = memref.alloc() : memref<16xf32>
  linalg.copy ins(%x : memref<1024xf32>) outs(%x : memref<1024xf32>)
  %dyn = memref.alloc(%n) : memref<?xf32>
  scf.for %i = %c0 to %c4 step %c1 {
    %inner = memref.alloc() : memref<4096xf32>
    memref.dealloc %inner : memref<4096xf32>
  }
  %big1 = memref.alloc() : memref<1024xf32>
  %big2 = memref.alloc() : memref<1024xf32>
  linalg.add ins(%big1, %x : memref<1024xf32>, memref<1024xf32>) outs(%big2 : memref<1024xf32>)
  %v = memref.load %big2[%c0] : memref<1024xf32>
  memref.store %v, %small[%c0] : memref<16xf32>
  %ret = memref.alloc() : memref<1024xf32>
  return %ret : memref<1024xf32>
}
