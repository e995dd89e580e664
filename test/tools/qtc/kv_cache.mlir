// qtc compile --kv-cache-bits 8|4|2 on the GroupQueryAttention fixture: a
// prompt and three decode steps with the quantized cache fed back, against
// onnxruntime with a real-valued cache (kv_cache.py).
// RUN: rm -rf %t && mkdir -p %t
// RUN: python3 %S/kv_cache.py %qtc_bin %t %S/../../frontends/onnx/fixtures/llama_tiny_genai_int4.onnx | FileCheck %s
// CHECK-NOT: MISMATCH
// CHECK: 19 passed, 0 failed

// The ports of a quantized cache, in the generated header.
// RUN: qtc compile --quiet %S/../../frontends/onnx/fixtures/llama_tiny_genai_int4.onnx --dim batch_size=1 --dim sequence_length=1 --dim past_sequence_length=7 --dim total_sequence_length=8 --dim kv_cache_dim=16 --kv-cache-bits 4 --emit shared -o %t/step.so
// RUN: FileCheck %s --check-prefix=HEADER < %t/step.h
// HEADER: input  past_key_values.0.key.codes: int8 [1, 2, 7, 8]
// HEADER-NEXT: input  past_key_values.0.key.scales: float16 [1, 2, 1, 16]
// HEADER-NEXT: input  past_key_values.0.key.mins: float16 [1, 2, 1, 16]
// HEADER: input  past_key_values.0.value.codes: int8 [1, 2, 7, 8]
// HEADER-NEXT: input  past_key_values.0.value.scales: float16 [1, 2, 7, 1]
// HEADER: output present.0.key.codes: int8 [1, 2, 8, 8]
// HEADER-NEXT: output present.0.key.scales: float16 [1, 2, 1, 16]

// Bad flags and models without a cache: one line, non-zero exit, no output.
// RUN: not qtc compile %S/../../frontends/onnx/fixtures/llama_tiny_genai_int4.onnx --kv-cache-bits 3 --emit shared -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=BITS
// BITS: qtc: error: --kv-cache-bits expects 8, 4 or 2 (got '3')
// RUN: not qtc compile %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --kv-cache-bits 8 --emit shared -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=NOCACHE
// NOCACHE: qtc: error: {{.*}}gpt2_tiny.onnx: --kv-cache-bits: no attention reads its KV cache from the model's inputs
// RUN: not ls %t/bad.so
