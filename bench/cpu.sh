#!/usr/bin/env bash
# End-to-end CPU throughput of compiled artifacts against ONNX Runtime (CPU,
# same thread count) measured in the same run: prefill tokens/s on a
# 16 x 256 batch, and greedy decode tokens/s (128 bytes after a 256-byte
# prompt, with the KV cache).
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
  /usr/bin/python3 - "$tmp" "$model" "$heads" "$dim" <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper as h
tmp, model, heads, dim = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
g = onnx.load(model, load_external_data=False).graph
ids = (np.arange(16 * 256).reshape(16, 256) * 131 + 7) % 256
arrays = {"input_ids": ids.astype(np.int64),
          "position_ids": np.broadcast_to(np.arange(256), (16, 256)).astype(np.int64)}
for i, vi in enumerate(g.input):
    a = arrays.get(vi.name, np.zeros((16, heads, 0, dim), np.float32))
    open(f"{tmp}/in{i}.pb", "wb").write(h.from_array(a, vi.name).SerializeToString())
PY
  inputs=$(ls "$tmp"/in*.pb | sed 's/^/--input /')
  per_call=$(build/bin/quant-run "$tmp/art" $inputs --timing --repeat 3 2>&1 >/dev/null |
             sed -E 's/.*run ([0-9.]+) s per call.*/\1/')
  q_prefill=$(echo "16 * 256 / $per_call" | bc -l)
  q_decode=$(build/bin/quant-run "$tmp/art" --generate "$prompt" -n 129 |
             sed -nE 's/.*decode ([0-9.]+) tokens\/s.*/\1/p')
  read -r o_prefill o_decode < <(NODE_PATH=build/ort/node_modules node bench/ort_bench.js \
      "$model" 16 256 128 "$threads" "$heads" "$dim" |
      /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(d['prefill'], d['decode'])")
  printf '| %s | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f |\n' "$m" "$q_prefill" "$o_prefill" \
    "$(echo "$q_prefill / $o_prefill" | bc -l)" "$q_decode" "$o_decode" \
    "$(echo "$q_decode / $o_decode" | bc -l)"
  rm -rf "$tmp/art" "$tmp"/in*.pb
done
