// A checkpoint that is not what its config.json says fails instead of
// compiling into garbage: a Gemma 3 checkpoint relabelled `llama` (its
// q/k norms and feed-forward norms would be ignored), and a truncated one.
// RUN: rm -rf %t && mkdir -p %t && cp -r %S/models/gemma3_text %t/relabelled
// RUN: sed -i 's/"model_type": "gemma3_text"/"model_type": "llama"/' %t/relabelled/config.json
// RUN: not qtc compile %t/relabelled -o %t/relabelled.so 2>&1 | FileCheck %s --check-prefix=RELABEL
// RELABEL: error: {{.*}}relabelled: 8 tensors the llama builder does not use: 'model.layers.0.post_feedforward_layernorm.weight', 'model.layers.0.pre_feedforward_layernorm.weight', 'model.layers.0.self_attn.k_norm.weight', 'model.layers.0.self_attn.q_norm.weight', 'model.layers.1.post_feedforward_layernorm.weight', 'model.layers.1.pre_feedforward_layernorm.weight', 'model.layers.1.self_attn.k_norm.weight', 'model.layers.1.self_attn.q_norm.weight' (the checkpoint is not the model its config.json describes; --allow-unused-tensors builds it anyway)
// RUN: test ! -e %t/relabelled.so
// RUN: qtc-translate --import-hf %t/relabelled --allow-unused-tensors 2>&1 >/dev/null | FileCheck %s --check-prefix=ALLOW
// ALLOW: warning: {{.*}}relabelled: 8 tensors the llama builder does not use: {{.*}} (ignored: --allow-unused-tensors)
// RUN: mkdir -p %t/truncated && cp %S/models/llama/config.json %t/truncated/
// RUN: head -c 200000 %S/models/llama/model.safetensors > %t/truncated/model.safetensors
// RUN: not qtc compile %t/truncated -o %t/truncated.so 2>&1 | FileCheck %s --check-prefix=TRUNC
// TRUNC: error: {{.*}}model.safetensors: tensor '{{.*}}': data_offsets [{{[0-9]+}}, {{[0-9]+}}] run past the data section, which holds {{[0-9]+}} bytes
// RUN: test ! -e %t/truncated.so
