#!/usr/bin/env bash
# Installs every Debian package quantc needs (Debian 12) and ONNX Runtime
# from npm; safe to run again: when everything is there it does nothing.
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ git
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools libomp-22-dev
  libgtest-dev
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  python3-onnx python3-numpy python3-torch
  libeigen3-dev
  bc time
  nlohmann-json3-dev
  clang-22 libclang-rt-22-dev
)

# ONNX Runtime (CPU) from npm, the reference executor of the end-to-end
# tests; --ignore-scripts keeps its installer from fetching GPU binaries.
install_ort() {
  local dir
  dir="$(dirname "$0")/../build/ort"
  [ -d "$dir/node_modules/onnxruntime-node" ] && return 0
  if ! command -v npm >/dev/null; then
    echo "setup: npm not found; installing nodejs and npm"
    $sudo apt-get install -y -q --no-install-recommends nodejs npm
  fi
  mkdir -p "$dir"
  npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0
}

sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
install_ort
