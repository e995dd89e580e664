#!/usr/bin/env bash
# The main job on a bundled default: sets up, builds, and runs qtc on the
# bundled example, a 4-bit Llama-style decoder layer in the qt dialect
# (examples/decoder_layer.mlir), through the qt-normalize-pipeline stage.
# Until the ONNX frontend and CPU backend land this is what qtc runs end to
# end; later it compiles a bundled quantized model to native code.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${QTC_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
"$root/scripts/build.sh"

input=${1:-$root/examples/decoder_layer.mlir}
output="$build/examples/$(basename "${input%.mlir}").normalized.mlir"
mkdir -p "$(dirname "$output")"
echo "qtc: running qt-normalize-pipeline on $input"
"$build/bin/qtc-opt" "$input" --qt-normalize-pipeline --mlir-timing \
  -o "$output" 2> "$build/examples/timing.txt"
python3 - "$input" "$output" "$build/examples/timing.txt" <<'PY'
import re, sys
from collections import Counter

def ops(path):
    text = open(path).read().split("{-#")[0]
    return Counter(re.findall(r"= (qt\.[a-z_]+|linalg\.[a-z_]+|tensor\.[a-z_]+|arith\.[a-z_]+)", text)), text

before, source = ops(sys.argv[1])
after, text = ops(sys.argv[2])
print(f"{'op':28s} {'before':>6s} {'after':>6s}")
for op in sorted(set(before) | set(after)):
    print(f"{op:28s} {before[op]:6d} {after[op]:6d}")
print(f"packed weights in msb_first order: {source.count('msb_first')} -> {text.count('msb_first')}")
print(f"ops with explicit zero points:     {source.count('zero_points(')} -> {text.count('zero_points(')}")
wall = re.search(r"Total Execution Time: ([0-9.]+) seconds", open(sys.argv[3]).read())
if wall:
    print(f"pipeline time: {float(wall.group(1)) * 1000:.1f} ms")
print(f"normalized IR: {sys.argv[2]}")
PY
