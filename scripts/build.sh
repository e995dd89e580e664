#!/usr/bin/env bash
# Configures (once) and builds qtc with CMake + Ninja into build/ (or $QTC_BUILD_DIR).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${QTC_BUILD_DIR:-$root/build}
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=${QTC_BUILD_TYPE:-Release} >/dev/null
fi
cmake --build "$build" -- ${QTC_NINJA_FLAGS:-}
