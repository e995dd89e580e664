// Hugging Face checkpoints written by transformers' save_pretrained, built by
// qtc --import-hf, lowered and run by the JIT, against the outputs transformers
// computed (run_hf_model.py): decoder prefill logits, one cached step and every
// present key/value; BERT's last hidden state. GPTQ/AWQ checkpoints against
// the model with the libraries' dequantized weights. The newer families:
// Qwen 3 (q/k norms), Mistral with a sliding window shorter than the
// sequence, Llama 3.1 rope scaling, Gemma 2 (soft-capping, sliding window on
// alternate layers, norms around attention and MLP, scaled embeddings),
// Gemma 3 (q/k norms, local and global rope bases), Phi-3 (fused qkv and
// gate_up, partial rotary, longrope).
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/llama | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/llama_tied_fp16 | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/mistral | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/qwen2 | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/llama_gptq | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/llama_awq | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/gpt2 | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/bert | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/qwen3 | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/mistral_sw | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/llama3 | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/gemma2 | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/gemma3_text | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/phi3 | FileCheck %s
// CHECK-NOT: MISMATCH
// CHECK: {{[1-9][0-9]*}} passed, 0 failed
