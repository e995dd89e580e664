// qt-externalize-weights: large constants leave the module for a side file
// and are read at fixed offsets of one zero-filled region the runtime maps
// the file over; small and splat constants, and constants used other than
// by llvm.mlir.addressof in a function, stay.
// RUN: qtc-opt %s --qt-externalize-weights="file=%t.weights min-bytes=16" | FileCheck %s
// RUN: od -A d -t x1 -v %t.weights | FileCheck %s --check-prefix=FILE
// The result still translates to LLVM IR: the region is zero-initialized
// (.bss) and not constant, so LLVM neither stores nor folds it.
// RUN: qtc-opt %s --qt-externalize-weights="file=%t.weights min-bytes=16" | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVM
// RUN: not qtc-opt %s --qt-externalize-weights 2>&1 | FileCheck %s --check-prefix=NOFILE

// CHECK: llvm.mlir.global external hidden @qtc_weights_data(#llvm.zero) {{{.*}}alignment = 65536 : i64} : !llvm.array<65536 x i8>
// CHECK: llvm.mlir.global external hidden constant @qtc_weights_id({{[0-9-]+}} : i64)
// CHECK: llvm.mlir.global external hidden constant @qtc_weights_bytes(96 : i64)
// CHECK-NOT: @w(
// CHECK-NOT: @s(
// CHECK: llvm.mlir.global private constant @small(
// CHECK: llvm.mlir.global private constant @splat(
// CHECK: llvm.mlir.global private constant @shared(
// CHECK: llvm.mlir.global internal @ref()
// CHECK: llvm.mlir.addressof @shared
// CHECK-LABEL: llvm.func @main
// CHECK: %[[W:.*]] = llvm.mlir.addressof @qtc_weights_data : !llvm.ptr
// CHECK: %[[R:.*]] = llvm.mlir.addressof @qtc_weights_data : !llvm.ptr
// CHECK: %[[OFF:.*]] = llvm.mlir.constant(64 : i64) : i64
// CHECK: %[[S:.*]] = llvm.getelementptr inbounds %[[R]][%[[OFF]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: llvm.mlir.addressof @small
// CHECK: llvm.mlir.addressof @splat
// CHECK: llvm.getelementptr %[[S]][%{{.*}}] : (!llvm.ptr, i64) -> !llvm.ptr, f32

// Header: magic "QTCWGHTS", version 1, 2 tensors, id, data at 65536, 96
// bytes; then the index: (offset 0, 32 bytes, "wblob"), (64, 32, "s").
// FILE:      0000000 51 54 43 57 47 48 54 53 01 00 00 00 02 00 00 00
// FILE-NEXT: 0000016 {{([0-9a-f][0-9a-f] )+}}00 00 01 00 00 00 00 00
// FILE-NEXT: 0000032 60 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
// FILE-NEXT: 0000048 20 00 00 00 00 00 00 00 05 00 00 00 77 62 6c 6f
// FILE-NEXT: 0000064 62 40 00 00 00 00 00 00 00 20 00 00 00 00 00 00
// FILE-NEXT: 0000080 00 01 00 00 00 73 00 00 00 00 00 00 00 00 00 00
// The data: the resource's bytes, then (64-byte aligned) the f32 array.
// FILE:      0065536 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10
// FILE-NEXT: 0065552 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20
// FILE-NEXT: 0065568 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
// FILE-NEXT: 0065584 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
// FILE-NEXT: 0065600 00 00 80 3f 00 00 00 40 00 00 40 40 00 00 80 40
// FILE-NEXT: 0065616 00 00 a0 40 00 00 c0 40 00 00 e0 40 00 00 00 41
// FILE-NEXT: 0065632
// FILE-NOT: {{.}}

// LLVM: @qtc_weights_data = hidden global [65536 x i8] zeroinitializer, align 65536
// LLVM: getelementptr inbounds{{.*}} (i8, ptr @qtc_weights_data, i64 64)

// NOFILE: qt-externalize-weights needs file=PATH

module {
  llvm.mlir.global private constant @w(dense_resource<wblob> : tensor<4x8xi8>) {addr_space = 0 : i32, alignment = 64 : i64} : !llvm.array<4 x array<8 x i8>>
  llvm.mlir.global private constant @s(dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>) {addr_space = 0 : i32, alignment = 64 : i64} : !llvm.array<8 x f32>
  llvm.mlir.global private constant @small(dense<[1, 2]> : tensor<2xi32>) {addr_space = 0 : i32, alignment = 64 : i64} : !llvm.array<2 x i32>
  llvm.mlir.global private constant @splat(dense<1.0> : tensor<64xf32>) {addr_space = 0 : i32, alignment = 64 : i64} : !llvm.array<64 x f32>
  // Its address is taken in another global's initializer: it stays.
  llvm.mlir.global private constant @shared(dense<[1, 2, 3, 4, 5, 6, 7, 8]> : tensor<8xi32>) {addr_space = 0 : i32, alignment = 64 : i64} : !llvm.array<8 x i32>
  llvm.mlir.global internal @ref() {addr_space = 0 : i32} : !llvm.ptr {
    %0 = llvm.mlir.addressof @shared : !llvm.ptr
    llvm.return %0 : !llvm.ptr
  }
  llvm.func @main(%i: i64) -> f32 {
    %0 = llvm.mlir.addressof @w : !llvm.ptr
    %1 = llvm.mlir.addressof @s : !llvm.ptr
    %2 = llvm.mlir.addressof @small : !llvm.ptr
    %3 = llvm.mlir.addressof @splat : !llvm.ptr
    %4 = llvm.getelementptr %1[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %5 = llvm.load %4 : !llvm.ptr -> f32
    llvm.return %5 : f32
  }
}
{-#
  dialect_resources: {
    builtin: {
      wblob: "0x040000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
    }
  }
#-}
