// Every fixture written by the real tools (fixtures/gen_fixtures.py: PyTorch's
// exporter, onnxruntime's quantizer, onnxruntime-genai's model builder)
// imports with its dynamic dims kept, passes the verifier, and keeps every
// quantized weight packed: no qt.dequantize is left.
// RUN: qtc-translate --import-onnx %S/fixtures/bert_tiny.onnx | FileCheck %s --check-prefix=BERT --implicit-check-not=linalg.softmax
// RUN: qtc-translate --import-onnx %S/fixtures/bert_tiny_int4_matmulnbits.onnx | FileCheck %s --check-prefix=BERT4 --implicit-check-not=qt.dequantize
// RUN: qtc-translate --import-onnx %S/fixtures/bert_tiny_int4_qdq.onnx | FileCheck %s --check-prefix=BERT4 --implicit-check-not=qt.dequantize
// RUN: qtc-translate --import-onnx %S/fixtures/gpt2_tiny.onnx | FileCheck %s --check-prefix=GPT2 --implicit-check-not=linalg.softmax
// RUN: qtc-translate --import-onnx %S/fixtures/gpt2_tiny_int4_matmulnbits.onnx | FileCheck %s --check-prefix=GPT2NB --implicit-check-not=qt.dequantize
// RUN: qtc-translate --import-onnx %S/fixtures/gpt2_tiny_int4_qdq.onnx | FileCheck %s --check-prefix=GPT2QDQ --implicit-check-not=qt.dequantize
// RUN: qtc-translate --import-onnx %S/fixtures/llama_tiny.onnx | FileCheck %s --check-prefix=LLAMA --implicit-check-not=linalg.softmax
// RUN: qtc-translate --import-onnx %S/fixtures/llama_tiny_int4_matmulnbits.onnx | FileCheck %s --check-prefix=LLAMA4 --implicit-check-not=qt.dequantize
// RUN: qtc-translate --import-onnx %S/fixtures/llama_tiny_int4_qdq.onnx | FileCheck %s --check-prefix=LLAMA4 --implicit-check-not=qt.dequantize
// onnxruntime's MatMulBnb4Quantizer (NF4; fixtures/gen_bnb4_fixtures.py).
// RUN: qtc-translate --import-onnx %S/fixtures/bert_tiny_nf4_bnb4.onnx | FileCheck %s --check-prefix=NF4 --implicit-check-not=qt.dequantize
// RUN: qtc-translate --import-onnx %S/fixtures/llama_tiny_nf4_bnb4.onnx | FileCheck %s --check-prefix=NF4 --implicit-check-not=qt.dequantize
// NF4: qt.quantized_matmul {{.*}}#qt.packed<ui4, group_size = 32, scale = f32, levels = [
// RUN: qtc-translate --import-onnx %S/fixtures/llama_tiny_genai_int4.onnx | FileCheck %s --check-prefix=GENAI --implicit-check-not=qt.dequantize
// RUN: qtc-translate --import-onnx %S/fixtures/llama_tiny_genai_int4_dml.onnx | FileCheck %s --check-prefix=DML --implicit-check-not=qt.dequantize
// Static binding of the symbolic dims.
// RUN: qtc-translate --import-onnx %S/fixtures/llama_tiny_genai_int4.onnx --dim batch_size=1 --dim sequence_length=2 --dim past_sequence_length=3 --dim total_sequence_length=5 --dim kv_cache_dim=16 | FileCheck %s --check-prefix=GENAI-STATIC

// BERT: func.func @main(%arg0: tensor<?x?xi64> {onnx.name = "input_ids"}, %arg1: tensor<?x?xi64> {onnx.name = "attention_mask"}, %arg2: tensor<?x?xi64> {onnx.name = "token_type_ids"})
// BERT-COUNT-3: qt.embedding
// BERT: qt.layer_norm
// BERT: qt.attention {{.*}} mask({{.*}}) {scale = 2.500000e-01 : f32}
// BERT: qt.gelu %{{.*}} : tensor<?x?x64xf32>
// BERT: qt.attention
// BERT: qt.gelu
// BERT: return

// BERT4-COUNT-12: qt.quantized_matmul {{.*}}#qt.packed<{{u|s}}i4, group_size = 32
// BERT4: return

// GPT2: func.func @main(%arg0: tensor<?x?xi64> {onnx.name = "input_ids"}, %arg1: tensor<?x?xi64> {onnx.name = "attention_mask"})
// GPT2-COUNT-2: qt.embedding
// GPT2: qt.layer_norm
// GPT2: qt.attention
// GPT2: qt.gelu {{.*}} {approximation = #qt.gelu_approximation<tanh>}
// GPT2: return

// Token and position tables through GatherBlockQuantized, lm_head int4.
// GPT2NB: qt.embedding {{.*}} {format = #qt.packed<ui4, group_size = 32, scale = f32, zero_point>} : tensor<100x16xi8>
// GPT2NB: qt.embedding {{.*}} {format = #qt.packed<ui4, group_size = 32, scale = f32, zero_point>} : tensor<64x16xi8>
// GPT2NB: qt.quantized_matmul {{.*}} -> tensor<?x?x100xf32>

// GPT2QDQ: qt.quantized_matmul {{.*}} -> tensor<?x?x100xf32>

// LLAMA: func.func @main(%arg0: tensor<?x?xi64> {onnx.name = "input_ids"}, %arg1: tensor<?x?xi64> {onnx.name = "attention_mask"}, %arg2: tensor<?x?xi64> {onnx.name = "position_ids"}, %arg3: tensor<?x2x?x16xf32> {onnx.name = "past_key_values.0.key"}
// LLAMA-SAME: tensor<?x2x?x16xf32> {onnx.name = "present.0.key"}
// LLAMA: qt.embedding
// LLAMA: qt.rms_norm
// LLAMA: tensor.concat dim(2) %arg3
// LLAMA: qt.attention
// LLAMA: qt.rms_norm
// LLAMA: qt.silu
// LLAMA: return

// LLAMA4-COUNT-15: qt.quantized_matmul {{.*}}i4, group_size = 32
// LLAMA4: return

// onnxruntime-genai's int4 Llama: fused QKV, GroupQueryAttention with the
// cache and rotary inside, SkipSimplifiedLayerNormalization, and the
// embedding read from lm_head's packed weights.
// GENAI: func.func @main(
// GENAI: qt.embedding %{{.*}}[%arg0] scales({{.*}}) {format = #qt.packed<ui4, group_size = 32, scale = f32>} : tensor<100x32xi8>
// GENAI: qt.rms_norm
// GENAI: qt.quantized_matmul {{.*}} -> tensor<?x?x128xf32>
// GENAI: qt.rotary_embedding
// GENAI: qt.rotary_embedding
// GENAI: qt.attention {{.*}} mask({{.*}}) cache(%arg2, %arg4 : {{.*}}) {causal, scale = 2.500000e-01 : f32}
// GENAI-COUNT-4: qt.quantized_matmul
// GENAI: qt.attention
// GENAI: return

// DML: qt.rotary_embedding {{.*}} positions(%arg2 : tensor<?x?xi64>)
// DML: qt.attention {{.*}} cache(
// DML: return

// GENAI-STATIC: func.func @main(%arg0: tensor<1x2xi64> {onnx.name = "input_ids"}, %arg1: tensor<1x5xi64> {onnx.name = "attention_mask"}, %arg2: tensor<1x2x3x16xf32>
// GENAI-STATIC: qt.attention {{.*}} -> tensor<1x4x2x16xf32>, tensor<1x2x5x16xf32>, tensor<1x2x5x16xf32>
