#!/usr/bin/env bash
# End-to-end CPU throughput of compiled artifacts against ONNX Runtime (CPU,
# same thread count) measured in the same run: prefill tokens/s on a
# 16 x 256 batch (bench/prefill_bench.c: the runtime's C API, a session
# keeping the KV cache; ONNX Runtime returns it as the present outputs; one
# warm-up run, then the mean of 3, on both sides), and greedy decode
# tokens/s (128 bytes after a 256-byte prompt, with the KV cache).
# Usage: bench/cpu.sh [threads]   (after scripts/build.sh; ORT from setup)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
export OMP_NUM_THREADS=$threads
shared=../shared
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prompt=$(head -c 256 "$shared/data/brown-eval.txt")

printf '| model | quantc prefill (tok/s) | ORT prefill (tok/s) | quantc / ORT | quantc decode (tok/s) | ORT decode (tok/s) | quantc / ORT |\n'
printf '| --- | --- | --- | --- | --- | --- | --- |\n'
for m in tinyllama/model_kv.onnx smallllama/model_kv.onnx; do
  model="$shared/models/$m"
  read -r heads dim < <(/usr/bin/python3 -c "
import onnx, sys
g = onnx.load(sys.argv[1], load_external_data=False).graph
d = [x.dim_value for x in g.input[2].type.tensor_type.shape.dim]
print(d[1], d[3])" "$model")
  build/bin/quantc compile "$model" -o "$tmp/art" 2>/dev/null
  q_prefill=$(build/bin/prefill_bench "$tmp/art" 16 256 3 |
              /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['prefill'])")
  q_decode=$(build/bin/quant-run "$tmp/art" --generate "$prompt" -n 129 |
             sed -nE 's/.*decode ([0-9.]+) tokens\/s.*/\1/p')
  read -r o_prefill o_decode < <(NODE_PATH=build/ort/node_modules node bench/ort_bench.js \
      "$model" 16 256 128 "$threads" "$heads" "$dim" |
      /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(d['prefill'], d['decode'])")
  printf '| %s | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f |\n' "$m" "$q_prefill" "$o_prefill" \
    "$(echo "$q_prefill / $o_prefill" | bc -l)" "$q_decode" "$o_decode" \
    "$(echo "$q_decode / $o_decode" | bc -l)"
  rm -rf "$tmp/art"
done
