// Every ONNX fixture written by the real tools, compiled by qtc (import,
// normalize, convert-qt-to-linalg, upstream lowering to LLVM) and run by the
// JIT, against onnxruntime on the same inputs (run_onnx_model.py; exact
// quantized semantics on both sides).
// RUN: python3 %S/run_onnx_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/onnx/fixtures/bert_tiny.onnx %S/../frontends/onnx/fixtures/bert_tiny.io.npz | FileCheck %s --check-prefix=CHECK
// RUN: python3 %S/run_onnx_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/onnx/fixtures/bert_tiny_int4_matmulnbits.onnx %S/../frontends/onnx/fixtures/bert_tiny_int4_matmulnbits.io.npz | FileCheck %s --check-prefix=CHECK
// RUN: python3 %S/run_onnx_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/onnx/fixtures/bert_tiny_int4_qdq.onnx %S/../frontends/onnx/fixtures/bert_tiny_int4_qdq.io.npz | FileCheck %s --check-prefix=CHECK
// RUN: python3 %S/run_onnx_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/onnx/fixtures/gpt2_tiny.onnx %S/../frontends/onnx/fixtures/gpt2_tiny.io.npz | FileCheck %s --check-prefix=CHECK
// RUN: python3 %S/run_onnx_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/onnx/fixtures/gpt2_tiny_int4_matmulnbits.onnx %S/../frontends/onnx/fixtures/gpt2_tiny_int4_matmulnbits.io.npz | FileCheck %s --check-prefix=CHECK
// RUN: python3 %S/run_onnx_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/onnx/fixtures/gpt2_tiny_int4_qdq.onnx %S/../frontends/onnx/fixtures/gpt2_tiny_int4_qdq.io.npz | FileCheck %s --check-prefix=CHECK
// RUN: python3 %S/run_onnx_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/onnx/fixtures/llama_tiny.onnx %S/../frontends/onnx/fixtures/llama_tiny.io.npz | FileCheck %s --check-prefix=CHECK
// RUN: python3 %S/run_onnx_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/onnx/fixtures/llama_tiny_int4_matmulnbits.onnx %S/../frontends/onnx/fixtures/llama_tiny_int4_matmulnbits.io.npz | FileCheck %s --check-prefix=CHECK
// RUN: python3 %S/run_onnx_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/onnx/fixtures/llama_tiny_int4_qdq.onnx %S/../frontends/onnx/fixtures/llama_tiny_int4_qdq.io.npz | FileCheck %s --check-prefix=CHECK
// RUN: python3 %S/run_onnx_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/onnx/fixtures/llama_tiny_genai_int4.onnx %S/../frontends/onnx/fixtures/llama_tiny_genai_int4.io.npz | FileCheck %s --check-prefix=CHECK
// RUN: python3 %S/run_onnx_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/onnx/fixtures/llama_tiny_genai_int4_dml.onnx %S/../frontends/onnx/fixtures/llama_tiny_genai_int4_dml.io.npz | FileCheck %s --check-prefix=CHECK
// RUN: python3 %S/run_onnx_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/onnx/fixtures/bert_tiny_nf4_bnb4.onnx %S/../frontends/onnx/fixtures/bert_tiny_nf4_bnb4.io.npz | FileCheck %s --check-prefix=CHECK
// RUN: python3 %S/run_onnx_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/onnx/fixtures/llama_tiny_nf4_bnb4.onnx %S/../frontends/onnx/fixtures/llama_tiny_nf4_bnb4.io.npz | FileCheck %s --check-prefix=CHECK
// CHECK-NOT: MISMATCH
// CHECK: {{[1-9][0-9]*}} passed, 0 failed
