#!/usr/bin/env bash
# The W8A8 kernel (bench/w8a8_bench.cpp) against the machine's int8 VNNI
# peak, quantc's f32 kernel, quantc's int8-weight kernel with f32
# activations and ONNX Runtime's dynamic quantization of the same product
# (bench/w8a8_models.py, timed with onnxruntime-node by
# bench/ort_matmulnbits.js), all in this run.
# Usage: bench/w8a8.sh [threads]   (after scripts/build.sh; ORT from setup)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
export OMP_NUM_THREADS=$threads
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for shape in "512 4096 14336" "512 4096 4096" "8 4096 14336" "1 4096 14336" \
  "4096 384 1024" "4096 1024 384"; do
  read -r m k n <<<"$shape"
  /usr/bin/python3 bench/w8a8_models.py "$tmp/m.onnx" "$m" "$k" "$n"
  ms=$(NODE_PATH=build/ort/node_modules node bench/ort_matmulnbits.js "$tmp/m.onnx" "$threads" 1)
  echo "$m $k $n $ms" >>"$tmp/ort.txt"
done
build/bin/w8a8_bench "$threads" "$tmp/ort.txt"
