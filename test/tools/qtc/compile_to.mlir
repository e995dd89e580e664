// qtc compile stops after any phase (--compile-to), takes .mlir input, and
// its lowering is qt-cpu-pipeline with options: qtc-opt replays exactly what
// a compile runs, for any target and --strict-fp, and
// --print-pipeline prints the replay with every target value resolved.
// RUN: rm -rf %t && mkdir -p %t
// RUN: qtc compile --quiet %S/../../frontends/onnx/fixtures/llama_tiny_int4_matmulnbits.onnx --dim batch_size=1 --dim sequence_length=4 --dim past_sequence_length=2 --dim total_sequence_length=6 --compile-to=import -o %t/imported.mlir
// RUN: FileCheck %s --check-prefix=IMPORT < %t/imported.mlir
// IMPORT: func.func @main(
// IMPORT: qt.quantized_matmul

// A cross-compile with strict floating point, both ways.
// RUN: qtc compile --quiet %t/imported.mlir --strict-fp --target-triple=x86_64-unknown-linux-gnu --target-features=+avx2,+fma --compile-to=llvm -o %t/compiled.mlir
// RUN: qtc-opt %t/imported.mlir --mlir-print-debuginfo --qt-cpu-pipeline='target-triple=x86_64-unknown-linux-gnu target-features=+avx2,+fma strict-fp=true' -o %t/replayed.mlir
// RUN: diff %t/compiled.mlir %t/replayed.mlir
// RUN: FileCheck %s --check-prefix=LLVM < %t/compiled.mlir
// LLVM: llvm.func @main(
// LLVM: llvm.func @_mlir_ciface_main(
// LLVM-NOT: qt.

// --print-pipeline resolves the target: its line replays the same module.
// RUN: qtc compile %t/imported.mlir --strict-fp --target-triple=x86_64-unknown-linux-gnu --target-features=+avx2,+fma --print-pipeline | FileCheck %s --check-prefix=PRINT
// PRINT: # The lowering, as qtc-opt replays it on the output of --compile-to=import:
// PRINT-NEXT: qtc-opt --qt-cpu-pipeline='l1-bytes=32768 vector-bits=256 int8-dot=none grid-lookup=permute strict-fp=true target-triple=x86_64-unknown-linux-gnu target-features=+avx2,+fma'
// PRINT-NEXT: # which runs:
// PRINT-NEXT: builtin.module(canonicalize{{.*}}qt-normalize-packing,qt-fuse-dequant-matmul{{.*}},cse,qt-emit-c-interface,qt-tile-quantized-matmul{{.*}}convert-qt-to-linalg{{.*}}reconcile-unrealized-casts)
// RUN: qtc-opt %t/imported.mlir --mlir-print-debuginfo --qt-cpu-pipeline='l1-bytes=32768 vector-bits=256 int8-dot=none grid-lookup=permute strict-fp=true target-triple=x86_64-unknown-linux-gnu target-features=+avx2,+fma' -o %t/printed.mlir
// RUN: diff %t/compiled.mlir %t/printed.mlir

// The host's defaults, reassociating: the same agreement.
// RUN: qtc compile --quiet %t/imported.mlir --compile-to=llvm -o %t/host.mlir
// RUN: qtc compile %t/imported.mlir --print-pipeline | sed -n 2p | sed -e "s/^qtc-opt //" -e "s/'//g" > %t/options.txt
// RUN: qtc-opt %t/imported.mlir --mlir-print-debuginfo "$(cat %t/options.txt)" -o %t/host-replayed.mlir
// RUN: diff %t/host.mlir %t/host-replayed.mlir

// Quantizing: the lowering replays on the output of --compile-to=quantize.
// RUN: qtc compile --quiet %S/../../frontends/onnx/fixtures/llama_tiny.onnx --dim batch_size=1 --dim sequence_length=4 --dim past_sequence_length=2 --dim total_sequence_length=6 --quantize w4 --group-size 16 --compile-to=quantize -o %t/quantized.mlir
// RUN: FileCheck %s --check-prefix=QUANT < %t/quantized.mlir
// QUANT: qt.quantized_matmul
// RUN: qtc compile --quiet %S/../../frontends/onnx/fixtures/llama_tiny.onnx --dim batch_size=1 --dim sequence_length=4 --dim past_sequence_length=2 --dim total_sequence_length=6 --quantize w4 --group-size 16 --target-triple=x86_64-unknown-linux-gnu --target-features=+avx512f,+avx512vnni --compile-to=llvm -o %t/quantized-llvm.mlir
// The replay's locations point into quantized.mlir where the compile's name
// the ONNX nodes, so the two are compared as IR alone.
// RUN: qtc-opt %t/quantized.mlir --qt-cpu-pipeline='target-triple=x86_64-unknown-linux-gnu target-features=+avx512f,+avx512vnni' -o %t/quantized-replayed.mlir
// RUN: qtc-opt %t/quantized-llvm.mlir -o %t/quantized-llvm-noloc.mlir
// RUN: diff %t/quantized-llvm-noloc.mlir %t/quantized-replayed.mlir

// Each phase's output is the next phase's input.
// RUN: qtc compile --quiet %t/imported.mlir --compile-to=normalize -o %t/normalized.mlir
// RUN: FileCheck %s --check-prefix=NORM < %t/normalized.mlir
// NORM: qt.quantized_matmul
// NORM-NOT: qt.dequantize
// RUN: qtc compile --quiet %t/imported.mlir --compile-to=lowered -o %t/lowered.mlir
// RUN: FileCheck %s --check-prefix=LOWERED < %t/lowered.mlir
// LOWERED: func.func @main(
// LOWERED-SAME: memref<
// LOWERED-NOT: qt.quantized_matmul
// RUN: qtc compile --quiet %t/normalized.mlir --emit shared -o %t/model.so
// RUN: test -f %t/model.so

// MLIR's pass manager options work as in mlir-opt.
// RUN: qtc compile --quiet %t/imported.mlir --compile-to=normalize -o %t/n.mlir --mlir-print-ir-after=qt-fuse-dequant-matmul 2>&1 | FileCheck %s --check-prefix=PRINTIR
// PRINTIR: // -----// IR Dump After QTFuseDequantMatmul (qt-fuse-dequant-matmul) //----- //
// RUN: qtc compile --quiet %t/imported.mlir --compile-to=llvm -o %t/t.mlir --mlir-timing 2>&1 | FileCheck %s --check-prefix=TIMING
// TIMING: Execution time report
// TIMING: QTOutlineLayers

// Errors: one line, non-zero exit.
// RUN: not qtc compile %t/imported.mlir --compile-to=bogus 2>&1 | FileCheck %s --check-prefix=BADPHASE
// BADPHASE: qtc: error: --compile-to expects import, normalize, quantize, lowered or llvm (got 'bogus')
// RUN: not qtc compile %t/imported.mlir --compile-to=llvm --emit shared 2>&1 | FileCheck %s --check-prefix=BOTH
// BOTH: qtc: error: --compile-to writes MLIR; it cannot be combined with --emit llvm, obj, shared or exe
// RUN: echo "func.func @main( {" > %t/broken.mlir
// RUN: not qtc compile %t/broken.mlir 2>&1 | FileCheck %s --check-prefix=PARSE
// PARSE: qtc: error: {{.*}}broken.mlir: cannot parse: {{.*}}broken.mlir:1:{{[0-9]+}}: expected
