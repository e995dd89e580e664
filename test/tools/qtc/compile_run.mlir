// The ahead-of-time path: qtc compile --emit shared builds a library (LLVM
// object, C entry point, linked runtime), qtc run feeds it .npy inputs, and
// every output matches onnxruntime's on the same inputs (compile_run.py).
// RUN: python3 %S/compile_run.py %qtc_bin %S/../../frontends/onnx/fixtures/bert_tiny_int4_qdq.onnx %S/../../frontends/onnx/fixtures/bert_tiny_int4_qdq.io.npz | FileCheck %s
// RUN: python3 %S/compile_run.py %qtc_bin %S/../../frontends/onnx/fixtures/gpt2_tiny_int4_matmulnbits.onnx %S/../../frontends/onnx/fixtures/gpt2_tiny_int4_matmulnbits.io.npz | FileCheck %s
// RUN: python3 %S/compile_run.py %qtc_bin %S/../../frontends/onnx/fixtures/llama_tiny.onnx %S/../../frontends/onnx/fixtures/llama_tiny.io.npz | FileCheck %s
// RUN: python3 %S/compile_run.py %qtc_bin %S/../../frontends/onnx/fixtures/llama_tiny_int4_matmulnbits.onnx %S/../../frontends/onnx/fixtures/llama_tiny_int4_matmulnbits.io.npz | FileCheck %s
// RUN: python3 %S/compile_run.py %qtc_bin %S/../../frontends/onnx/fixtures/llama_tiny_nf4_bnb4.onnx %S/../../frontends/onnx/fixtures/llama_tiny_nf4_bnb4.io.npz | FileCheck %s
// RUN: python3 %S/compile_run.py %qtc_bin %S/../../frontends/onnx/fixtures/llama_tiny_genai_int4_dml.onnx %S/../../frontends/onnx/fixtures/llama_tiny_genai_int4_dml.io.npz | FileCheck %s
// CHECK-NOT: MISMATCH
// CHECK: {{[1-9][0-9]*}} passed, 0 failed

// The emitted header documents the entry point; qtc run rejects inputs that
// do not fit the model with one line naming the input.
// RUN: rm -rf %t && mkdir -p %t
// RUN: qtc compile --quiet %S/../../frontends/onnx/fixtures/llama_tiny_int4_matmulnbits.onnx --dim batch_size=1 --dim sequence_length=2 --dim past_sequence_length=3 --dim total_sequence_length=5 --emit shared -o %t/llama.so
// RUN: FileCheck %s --check-prefix=HEADER < %t/llama.h
// RUN: python3 -c "import numpy; numpy.save(r'%t/ids.npy', numpy.zeros((1, 3), numpy.int64))"
// RUN: not qtc run %t/llama.so --input input_ids=%t/ids.npy 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: not qtc run %t/llama.so --input nothere=%t/ids.npy 2>&1 | FileCheck %s --check-prefix=NAME
// RUN: not qtc run %t/missing.so 2>&1 | FileCheck %s --check-prefix=MISSING

// HEADER: args[0] input  input_ids: int64 [1, 2]
// HEADER: args[7] output logits: float32 [1, 2, 100]
// HEADER: int qtc_model_run(void **args);
// HEADER-NEXT: const char *qtc_model_error(void);
// HEADER-NOT: qtc_model_load_weights
// SHAPE: qtc: error: input 'input_ids' must be int64 [1, 2], the file holds int64 [1, 3]
// NAME: qtc: error: the model has no input 'nothere'
// MISSING: qtc: error: {{.*}}missing.so: no such file

// Object files for other targets come from LLVM's cross backends.
// RUN: qtc compile --quiet %S/../../frontends/onnx/fixtures/llama_tiny_int4_matmulnbits.onnx --dim batch_size=1 --dim sequence_length=1 --dim past_sequence_length=3 --dim total_sequence_length=4 --emit obj --target-triple aarch64-linux-gnu --target-cpu neoverse-v1 -o %t/llama-a64.o
// RUN: llvm-readobj --file-headers %t/llama-a64.o | FileCheck %s --check-prefix=A64
// A64: Arch: aarch64
