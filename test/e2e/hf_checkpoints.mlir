// Hugging Face checkpoints written by transformers' save_pretrained, built by
// qtc --import-hf, lowered and run by the JIT, against the outputs transformers
// computed (run_hf_model.py): decoder prefill logits, one cached step and every
// present key/value; BERT's last hidden state. GPTQ/AWQ checkpoints against
// the model with the libraries' dequantized weights.
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/llama | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/llama_tied_fp16 | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/mistral | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/qwen2 | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/llama_gptq | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/llama_awq | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/gpt2 | FileCheck %s
// RUN: python3 %S/run_hf_model.py qtc-translate qtc-opt %mlir_runner %runner_utils_lib %c_runner_utils_lib %S/../frontends/hf/models/bert | FileCheck %s
// CHECK-NOT: MISMATCH
// CHECK: {{[1-9][0-9]*}} passed, 0 failed
