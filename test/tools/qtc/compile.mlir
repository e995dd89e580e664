// qtc compile imports an ONNX model or a checkpoint directory and, by
// default (--emit mlir), stops after normalization and quantization, with
// progress on stderr.
// RUN: rm -rf %t && mkdir -p %t
// RUN: qtc compile %S/../../frontends/onnx/fixtures/llama_tiny_genai_int4.onnx -o %t/genai.mlir 2>&1 | FileCheck %s --check-prefix=PROGRESS
// RUN: FileCheck %s --check-prefix=GENAI < %t/genai.mlir
// RUN: cd %t && qtc compile --quiet %S/../../frontends/hf/models/llama_gptq 2>&1 | count 0
// RUN: FileCheck %s --check-prefix=GPTQ < %t/llama_gptq.mlir

// PROGRESS: qtc: importing {{.*}}llama_tiny_genai_int4.onnx ... {{[0-9.]+}} s
// PROGRESS-NEXT: qtc: qt-normalize-pipeline ... {{[0-9.]+}} s
// PROGRESS-NEXT: qtc: dequantize fusion: 11 quantized matmuls, 0 dequantize left unfused
// PROGRESS-NEXT: qtc: wrote {{.*}}genai.mlir

// The genai model's symmetric MatMulNBits carry no zero points.
// GENAI: func.func @main(
// GENAI: qt.quantized_matmul {{.*}} {format = #qt.packed<ui4, group_size = 32, scale = f32>}
// GENAI: qt.attention
// GENAI: return

// GPTQ: qt.quantized_matmul {{.*}}#qt.packed<ui4, group_size = 32, scale = f16, zero_point>

// Errors: one line, exit 1, no output.
// RUN: not qtc compile %t/missing.onnx -o %t/missing.mlir 2>&1 | FileCheck %s --check-prefix=ERR
// RUN: not test -e %t/missing.mlir
// ERR: qtc: importing {{.*}}missing.onnx ... failed
// ERR-NEXT: qtc: error: {{.*}}missing.onnx: cannot open: {{[Nn]}}o such file or directory
// RUN: not qtc 2>&1 | FileCheck %s --check-prefix=NOCMD
// NOCMD: qtc: error: expected a command: compile, generate, run or eval (see qtc --help)

// Every quantized fixture (QDQ, MatMulNBits, MatMulBnb4 NF4, onnxruntime-genai, GPTQ, AWQ)
// compiles with all of its dequantization fused into matmuls.
// RUN: qtc compile %S/../../frontends/onnx/fixtures/bert_tiny_int4_qdq.onnx -o %t/f1.mlir 2>&1 | FileCheck %s --check-prefix=FUSED
// RUN: qtc compile %S/../../frontends/onnx/fixtures/bert_tiny_int4_matmulnbits.onnx -o %t/f2.mlir 2>&1 | FileCheck %s --check-prefix=FUSED
// RUN: qtc compile %S/../../frontends/onnx/fixtures/gpt2_tiny_int4_qdq.onnx -o %t/f3.mlir 2>&1 | FileCheck %s --check-prefix=FUSED
// RUN: qtc compile %S/../../frontends/onnx/fixtures/gpt2_tiny_int4_matmulnbits.onnx -o %t/f4.mlir 2>&1 | FileCheck %s --check-prefix=FUSED
// RUN: qtc compile %S/../../frontends/onnx/fixtures/llama_tiny_int4_qdq.onnx -o %t/f5.mlir 2>&1 | FileCheck %s --check-prefix=FUSED
// RUN: qtc compile %S/../../frontends/onnx/fixtures/llama_tiny_int4_matmulnbits.onnx -o %t/f6.mlir 2>&1 | FileCheck %s --check-prefix=FUSED
// RUN: qtc compile %S/../../frontends/onnx/fixtures/llama_tiny_genai_int4_dml.onnx -o %t/f7.mlir 2>&1 | FileCheck %s --check-prefix=FUSED
// RUN: qtc compile %S/../../frontends/onnx/fixtures/bert_tiny_nf4_bnb4.onnx -o %t/f10.mlir 2>&1 | FileCheck %s --check-prefix=FUSED
// RUN: qtc compile %S/../../frontends/onnx/fixtures/llama_tiny_nf4_bnb4.onnx -o %t/f11.mlir 2>&1 | FileCheck %s --check-prefix=FUSED
// RUN: qtc compile %S/../../frontends/hf/models/llama_gptq -o %t/f8.mlir 2>&1 | FileCheck %s --check-prefix=FUSED
// RUN: qtc compile %S/../../frontends/hf/models/llama_awq -o %t/f9.mlir 2>&1 | FileCheck %s --check-prefix=FUSED
// FUSED-NOT: warning
// FUSED: qtc: dequantize fusion: {{[1-9][0-9]*}} quantized matmuls, 0 dequantize left unfused
// FUSED-NOT: warning
