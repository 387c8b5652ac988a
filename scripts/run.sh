#!/usr/bin/env bash
# The main job on the bundled default: sets up, builds, then on the shared
# tiny model: import it into the qc dialect and report its linear layers
# (the ones quantization rewrites), compile it to an artifact, run it with
# the runtime on the EVAL.md protocol and greedy-decode a prompt with the
# KV cache the runtime keeps (a session); then the same with 4-bit weights.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
model=${1:-../shared/models/tinyllama/model_kv.onnx}
out=build/$(basename "$(dirname "$model")")-$(basename "$model" .onnx).mlir
echo "== quant-translate --import-onnx $model -o $out"
start=$(date +%s.%N)
build/bin/quant-translate --import-onnx "$model" -o "$out"
end=$(date +%s.%N)
build/bin/quant-opt "$out" -o /dev/null
printf 'imported and verified in %.2f s: %s ops in @main, %s qc.linear layers\n' \
  "$(echo "$end - $start" | bc)" "$(grep -c ' = ' "$out")" "$(grep -c '= qc.linear' "$out")"
echo "== linear layers (input K x output N)"
grep -o 'qc.linear .*' "$out" | sed -E 's/.*layer = "([^"]*)".*tensor<([0-9]+)x([0-9]+)xf32> ->.*/\1 \2 \3/' |
  awk '{printf "  %-20s %5d x %-5d %9d weights\n", $1, $2, $3, $2 * $3; total += $2 * $3}
       END {printf "  %-20s %17d weights in linear layers\n", "total", total}'
art=build/$(basename "$(dirname "$model")")-artifact
echo "== quantc compile $model -o $art"
build/bin/quantc compile "$model" -o "$art"
echo "== quant-run $art --perplexity ../shared/data/brown-eval.txt"
build/bin/quant-run "$art" --perplexity ../shared/data/brown-eval.txt
echo "== quant-run $art --generate \"The jury said that\" -n 48"
build/bin/quant-run "$art" --generate "The jury said that" -n 48
q4=build/$(basename "$(dirname "$model")")-w4
echo "== quantc compile $model -o $q4 --wbits 4 --group 128   (round to nearest; --algo gptq --calib for GPTQ)"
build/bin/quantc compile "$model" -o "$q4" --wbits 4 --group 128
printf 'weights: %s bytes f32, %s bytes with 4-bit transformer blocks\n' \
  "$(stat -c %s "$art/weights.bin")" "$(stat -c %s "$q4/weights.bin")"
echo "== quant-run $q4 --perplexity ../shared/data/brown-eval.txt"
build/bin/quant-run "$q4" --perplexity ../shared/data/brown-eval.txt 2>/dev/null
echo "== quant-run $q4 --generate \"The jury said that\" -n 48"
build/bin/quant-run "$q4" --generate "The jury said that" -n 48
