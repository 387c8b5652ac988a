#!/usr/bin/env bash
# Import time and peak memory of the ONNX frontend on the shared models,
# against two peers measured in the same run: quant-translate importing a
# one-node model (the fixed cost of the process: MLIR/LLVM libraries), and
# the onnx Python package loading the same model with its external data.
# Usage: bench/import.sh [runs]   (from the repository root, after a build)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shared=../shared/models
tool=build/bin/quant-translate
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '<ir_version: 8, opset_import: ["" : 17]>\ng (float[N] X) => (float[N] Y) { Y = Relu(X) }\n' > "$tmp/trivial.onnxtxt"

# Median of `runs` measurements of "seconds maxrss_kb" for a command.
measure() {
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" > /dev/null 2>&1
    cat "$tmp/t"
  done | sort -n | awk '{t[NR]=$1; m[NR]=$2} END {i=int((NR+1)/2); print t[i], m[i]}'
}

read -r base_s base_kb < <(measure "$tool" --import-onnx "$tmp/trivial.onnxtxt" -o /dev/null)
printf '| model | weights (MB) | quantc import (s) | peak RSS (MB) | RSS above process baseline (MB) | onnx.load (s) | onnx.load peak RSS (MB) | import / onnx.load time |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- |\n'
printf '| (one-node model: process baseline) | 0 | %s | %.0f | 0 | | | |\n' "$base_s" "$(echo "$base_kb/1024" | bc -l)"
for m in tinyllama/model.onnx tinyllama/model_kv.onnx smallllama/model_kv.onnx; do
  dir=$(dirname "$shared/$m")
  weights=$(du -cb "$shared/$m" $(ls "$dir"/*.weights 2>/dev/null | grep "$(basename "$m" .onnx)" || true) | tail -1 | cut -f1)
  read -r s kb < <(measure "$tool" --import-onnx "$shared/$m" --mlir-elide-resource-strings-if-larger=16 -o /dev/null)
  read -r ps pkb < <(measure /usr/bin/python3 -c "import onnx, sys; onnx.load(sys.argv[1])" "$shared/$m")
  printf '| %s | %.1f | %s | %.0f | %.0f | %s | %.0f | %.2f |\n' "$m" \
    "$(echo "$weights/1048576" | bc -l)" "$s" "$(echo "$kb/1024" | bc -l)" \
    "$(echo "($kb-$base_kb)/1024" | bc -l)" "$ps" "$(echo "$pkb/1024" | bc -l)" \
    "$(echo "$s/$ps" | bc -l)"
done
