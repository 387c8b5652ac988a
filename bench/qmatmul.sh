#!/usr/bin/env bash
# Quantized matmul kernel against ONNX Runtime's MatMulNBits (built with
# python3-onnx: bench/matmulnbits_models.py; timed with onnxruntime-node:
# bench/ort_matmulnbits.js), the f32 kernel and the read bandwidth, all in
# this run (bench/qmatmul_bench.cpp). ORT's models hold one node ("hot") or
# as many weight copies as quantc's cold rows (more than 1 GiB in all).
# Then the non-integer formats against their integer peers (NF4 vs int4
# g128, FP8 vs int8; qmatmul_bench --formats), calls alternating.
# Usage: bench/qmatmul.sh [threads] [--formats: only that table]
# (after scripts/build.sh; ORT from setup)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
export OMP_NUM_THREADS=$threads
if [ "${2:-}" = --formats ]; then
  exec build/bin/qmatmul_bench "$threads" --formats
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for bits in 4 8; do
  for shape in "1 4096 14336" "2 4096 14336" "4 4096 14336" "8 4096 14336" \
               "1 14336 4096" "8 14336 4096" "512 4096 4096"; do
    read -r m k n <<<"$shape"
    cold=$(( (1073741824 * 8 + k * n * bits - 1) / (k * n * bits) ))
    for copies in 1 $([[ $m -le 8 ]] && echo "$cold"); do
      for level in 0 4; do
        /usr/bin/python3 bench/matmulnbits_models.py "$tmp/m.onnx" "$bits" "$m" "$k" "$n" "$level" "$copies"
        ms=$(NODE_PATH=build/ort/node_modules node bench/ort_matmulnbits.js "$tmp/m.onnx" "$threads" "$copies")
        echo "$bits $m $k $n $level $copies $ms" >>"$tmp/ort.txt"
        rm -f "$tmp/m.onnx"
      done
    done
  done
done
build/bin/qmatmul_bench "$threads" "$tmp/ort.txt"
echo
build/bin/qmatmul_bench "$threads" --formats
