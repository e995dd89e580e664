// convert-qt-to-linalg, lowered to LLVM by upstream passes and run by the
// JIT, against numpy computing the ops' definitions independently
// (run_lowered.py): quantized matmul at 2, 3, 4, 6 and 8 bits, signed and
// unsigned codes, with and without zero points, with mins added after
// scaling (llama.cpp's Q4_1 and K-quants), non-uniform grids (levels;
// vpermps and select-tree lookups in the few-row kernel), f16/f32 scales and
// bias,
// untiled and tiled into weight panels (qt-tile-quantized-matmul), on the
// calling thread and on the runtime's thread pool;
// dequantize (words of 1, 3 and 5 bytes, and per code); gelu (erf, tanh); silu; rms_norm; layer_norm; attention
// (grouped heads, float/boolean/causal masks, sliding windows, soft-capped
// scores, KV cache); rotary embedding
// (half/interleaved, partial, position ids); embedding (real and packed);
// dynamic_quantize (per tensor / per group, symmetric / asymmetric);
// real-valued matmuls with [K, N] and [N, K] weights (vector kernels);
// MatMulInteger's i32 matmul of widened 8-bit codes (vpdpbusd kernel on
// hosts with AVX-512 VNNI / AVX-VNNI, every signedness, zero points,
// two matmuls sharing A and their init).
// RUN: python3 %S/run_lowered.py qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib | FileCheck %s
// CHECK-NOT: MISMATCH
// CHECK: 98 passed, 0 failed
