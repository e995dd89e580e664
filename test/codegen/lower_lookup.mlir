// qt-lower-int8-dot on qt.lookup: a table of 16 lanes becomes AVX-512's
// vpermps intrinsic, 8 lanes AVX2's; with intrinsic=false, a tree of
// selects on the index bits (any target).
// RUN: qtc-opt %s --qt-lower-int8-dot | FileCheck %s --check-prefix=INTR
// RUN: qtc-opt %s --qt-lower-int8-dot=intrinsic=false | FileCheck %s --check-prefix=PORTABLE
// The portable form, run: every lane of the table picked, indices out of
// order and repeated, only the low bits counting.
// RUN: qtc-opt %s --qt-lower-int8-dot=intrinsic=false --qt-cpu-pipeline | %mlir_runner -e main -entry-point-result=void -shared-libs=%runner_utils_lib,%c_runner_utils_lib | FileCheck %s --check-prefix=EXEC

// INTR-LABEL: func.func @lookups
// INTR: llvm.call_intrinsic "llvm.x86.avx512.permvar.sf.512"(%{{.*}}, %{{.*}}) : (vector<16xf32>, vector<16xi32>) -> vector<16xf32>
// INTR: llvm.call_intrinsic "llvm.x86.avx2.permps"(%{{.*}}, %{{.*}}) : (vector<8xf32>, vector<8xi32>) -> vector<8xf32>
// INTR-NOT: qt.lookup
// PORTABLE-LABEL: func.func @lookups
// PORTABLE-NOT: llvm.call_intrinsic
// PORTABLE-COUNT-16: vector.broadcast %{{.*}} : f32 to vector<16xf32>
// PORTABLE-COUNT-15: arith.select %{{.*}} : vector<16xi1>, vector<16xf32>
// PORTABLE-COUNT-7: arith.select %{{.*}} : vector<8xi1>, vector<8xf32>
// PORTABLE-NOT: qt.lookup
func.func @lookups(%t16: vector<16xf32>, %i16: vector<16xi32>, %t8: vector<8xf32>,
                   %i8: vector<8xi32>) -> (vector<16xf32>, vector<8xf32>) {
  %0 = qt.lookup %t16, %i16 : vector<16xf32>, vector<16xi32>
  %1 = qt.lookup %t8, %i8 : vector<8xf32>, vector<8xi32>
  return %0, %1 : vector<16xf32>, vector<8xf32>
}

// EXEC: [15,  0,  7,  8,  3,  3,  12,  1,  2,  4,  5,  6,  9,  10,  11,  13]
// EXEC: [7,  0,  1,  6,  2,  2,  5,  3]
func.func @main() {
  %t16 = arith.constant dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0]> : vector<16xf32>
  %i16 = arith.constant dense<[15, 0, 7, 8, 3, 3, 12, 1, 2, 4, 5, 6, 9, 10, 11, 13]> : vector<16xi32>
  %t8 = arith.constant dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]> : vector<8xf32>
  %i8 = arith.constant dense<[7, 0, 1, 6, 2, 10, 5, 3]> : vector<8xi32>
  %a = qt.lookup %t16, %i16 : vector<16xf32>, vector<16xi32>
  %b = qt.lookup %t8, %i8 : vector<8xf32>, vector<8xi32>
  %c0 = arith.constant 0 : index
  %buf16 = memref.alloca() : memref<16xf32>
  vector.store %a, %buf16[%c0] : memref<16xf32>, vector<16xf32>
  %u16 = memref.cast %buf16 : memref<16xf32> to memref<*xf32>
  call @printMemrefF32(%u16) : (memref<*xf32>) -> ()
  %buf8 = memref.alloca() : memref<8xf32>
  vector.store %b, %buf8[%c0] : memref<8xf32>, vector<8xf32>
  %u8 = memref.cast %buf8 : memref<8xf32> to memref<*xf32>
  call @printMemrefF32(%u8) : (memref<*xf32>) -> ()
  return
}
func.func private @printMemrefF32(memref<*xf32>)
