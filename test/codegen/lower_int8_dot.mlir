// qt-lower-int8-dot: qt.int8_dot on 4, 8 or 16 i32 lanes becomes the x86
// vpdpbusd intrinsic; other lane counts, and every one with
// intrinsic=false, become shuffles picking byte j of each group and
// zero-extended x sign-extended multiply-adds.
// RUN: qtc-opt %s --qt-lower-int8-dot | FileCheck %s --check-prefix=INTR
// RUN: qtc-opt %s --qt-lower-int8-dot=intrinsic=false | FileCheck %s --check-prefix=PORTABLE
// The portable form, run: unsigned x signed bytes, wrapping adds included.
// RUN: qtc-opt %s --qt-lower-int8-dot=intrinsic=false --qt-cpu-pipeline | %mlir_runner -e main -entry-point-result=void -shared-libs=%runner_utils_lib,%c_runner_utils_lib | FileCheck %s --check-prefix=EXEC

// INTR-LABEL: func.func @dots
// INTR: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%{{.*}}) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// INTR: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.256"(%{{.*}}) : (vector<8xi32>, vector<32xi8>, vector<32xi8>) -> vector<8xi32>
// INTR-NOT: llvm.call_intrinsic
// INTR: vector.shuffle %{{.*}} [0, 4] : vector<8xi8>, vector<8xi8>
// PORTABLE-LABEL: func.func @dots
// PORTABLE-NOT: llvm.call_intrinsic
// PORTABLE: %[[A0:.*]] = vector.shuffle %[[X:.*]], %[[X]] [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60] : vector<64xi8>, vector<64xi8>
// PORTABLE: %[[B0:.*]] = vector.shuffle
// PORTABLE: %[[WA:.*]] = arith.extui %[[A0]] : vector<16xi8> to vector<16xi32>
// PORTABLE: %[[WB:.*]] = arith.extsi %[[B0]] : vector<16xi8> to vector<16xi32>
// PORTABLE: %[[P:.*]] = arith.muli %[[WA]], %[[WB]] : vector<16xi32>
// PORTABLE: arith.addi %{{.*}}, %[[P]] : vector<16xi32>
// PORTABLE: vector.shuffle %[[X]], %[[X]] [3, 7, 11,
// PORTABLE-NOT: llvm.call_intrinsic
func.func @dots(%a16: vector<16xi32>, %x64: vector<64xi8>, %a8: vector<8xi32>,
                %x32: vector<32xi8>, %a2: vector<2xi32>, %x8: vector<8xi8>)
    -> (vector<16xi32>, vector<8xi32>, vector<2xi32>) {
  %0 = qt.int8_dot %a16, %x64, %x64 : vector<64xi8> -> vector<16xi32>
  %1 = qt.int8_dot %a8, %x32, %x32 : vector<32xi8> -> vector<8xi32>
  %2 = qt.int8_dot %a2, %x8, %x8 : vector<8xi8> -> vector<2xi32>
  return %0, %1, %2 : vector<16xi32>, vector<8xi32>, vector<2xi32>
}

// Lane 0: 1 + 255 * -128 + 1 * 5 + 2 * 6 + 3 * 7; lane 1: 2 + 128 * 127;
// lane 2: 3 - (10 + 20 + 30 + 40); lane 3: 4 + 2 * 200 * (127 - 128).
// Read as signed bytes, lane 0 would be 1 + 128 + 38.
// EXEC: [-32601,  16258,  -97,  -396]
func.func @main() {
  %acc = arith.constant dense<[1, 2, 3, 4]> : vector<4xi32>
  %a = arith.constant dense<[-1, 1, 2, 3, -128, 0, 0, 0, 10, 20, 30, 40, -56, -56, -56, -56]> : vector<16xi8>
  %b = arith.constant dense<[-128, 5, 6, 7, 127, 1, 1, 1, -1, -1, -1, -1, 127, -128, 127, -128]> : vector<16xi8>
  %r = qt.int8_dot %acc, %a, %b : vector<16xi8> -> vector<4xi32>
  %buf = memref.alloca() : memref<4xi32>
  %c0 = arith.constant 0 : index
  vector.store %r, %buf[%c0] : memref<4xi32>, vector<4xi32>
  %u = memref.cast %buf : memref<4xi32> to memref<*xi32>
  call @printMemrefI32(%u) : (memref<*xi32>) -> ()
  return
}
func.func private @printMemrefI32(memref<*xi32>)
