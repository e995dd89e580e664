#!/usr/bin/env bash
# run-fuzzer.sh FUZZER SECONDS CORPUS_DIR SEED_DIR...
# Runs a libFuzzer target for a bounded time on a fresh working corpus seeded
# with the model files (.onnx, .safetensors, up to 512 KiB) under the seed
# folders; $FUZZ_FLAGS adds libFuzzer flags. Fails on any crash, sanitizer
# report or timeout, and prints the run's figures.
set -euo pipefail
fuzzer=$1 seconds=$2 corpus=$3
shift 3
rm -rf "$corpus"
mkdir -p "$corpus"
i=0
for seeds in "$@"; do
  while IFS= read -r -d '' f; do
    cp "$f" "$corpus/seed-$i-$(basename "$f")"
    i=$((i + 1))
  done < <(find "$seeds" -type f \( -name '*.onnx' -o -name '*.safetensors' -o -name '*.gguf' \) -size -512k -print0)
done
artifacts=$(dirname "$corpus")/artifacts-$(basename "$corpus")
mkdir -p "$artifacts"
log=$(mktemp)
status=0
# shellcheck disable=SC2086
"$fuzzer" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
  -seed=1 -artifact_prefix="$artifacts/" -print_final_stats=1 ${FUZZ_FLAGS:-} \
  >"$log" 2>&1 || status=$?
echo "seeds: $i"
# libFuzzer's final stats; absent when it never got to run inputs, which the
# check below turns into a failure.
stats=""
if grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)" "$log" >"$log.stats"; then
  stats=$(<"$log.stats")
  echo "$stats"
fi
rm -f "$log.stats"
if [[ $status -ne 0 ]]; then
  tail -60 "$log"
  echo "fuzzer found a failure; reproducer in $artifacts" >&2
elif ! grep -qE "^stat::number_of_executed_units: *[1-9]" <<<"$stats"; then
  # A run that exits 0 without executing inputs tested nothing.
  tail -20 "$log"
  echo "fuzzer executed no inputs" >&2
  status=1
fi
rm -f "$log"
exit $status
