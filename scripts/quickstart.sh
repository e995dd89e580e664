#!/usr/bin/env bash
# The main job on a bundled default: sets up, builds, then compiles the
# bundled 4-bit Llama-style model (PyTorch's ONNX export of a 2-layer
# decoder with a KV cache, its 15 MatMuls turned into int4 MatMulNBits by
# onnxruntime's quantizer) into a native shared library with `qtc compile --emit shared`, runs it with
# `qtc run` on the bundled inputs, checks every output against onnxruntime
# and prints both latencies.
#
#   ./scripts/quickstart.sh [MODEL.onnx INPUTS.io.npz]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${QTC_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
"$root/scripts/build.sh"

fixtures=$root/test/frontends/onnx/fixtures
model=${1:-$fixtures/llama_tiny_int4_matmulnbits.onnx}
inputs=${2:-${model%.onnx}.io.npz}
python3 "$root/examples/run_model.py" "$build/bin/qtc" "$model" "$inputs" "$build/examples"
