#!/usr/bin/env bash
# Bits per byte (EVAL.md protocol, one byte a step through the KV cache:
# quant-run --perplexity --stepwise) of the shared models with their KV cache
# stored in f32 (the peer, same run), int8, int4 and int2 (quantc compile
# --kv-bits, per-token scales for keys and values), with f32 and W4 weights,
# and the cache's bytes a position (quant-run --generate).
# Usage: bench/kv_quality.sh [windows]   (default 256, the protocol's)
set -euo pipefail
cd "$(dirname "$0")/.."
windows=${1:-256}
shared=../shared
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bpb() { build/bin/quant-run "$1" --perplexity "$shared/data/brown-eval.txt" --stepwise \
          --windows "$windows" 2>/dev/null | sed -nE 's/bits per byte: ([0-9.]+).*/\1/p'; }
bytes() { build/bin/quant-run "$1" --generate "The " -n 2 2>/dev/null |
          sed -nE 's/KV cache: ([0-9]+) bytes a position.*/\1/p'; }
printf '| model | weights | KV cache | bytes/position | bits per byte | vs f32 cache |\n'
printf '| --- | --- | --- | --- | --- | --- |\n'
for model in tinyllama smallllama; do
  for weights in f32 W4g128; do
    wflags=(); [[ $weights == W4g128 ]] && wflags=(--wbits 4 --group 128)
    peer=
    for cache in f32 "int8:8:0" "int4:4:0" "int4, group 32:4:32" "int2:2:0" "int2, group 32:2:32"; do
      name=${cache%%:*}; kflags=()
      if [[ $cache != f32 ]]; then
        IFS=: read -r _ b g <<< "$cache"; kflags=(--kv-bits "$b" --kv-group "$g")
      fi
      build/bin/quantc compile "$shared/models/$model/model_kv.onnx" -o "$tmp/a" \
        "${wflags[@]}" "${kflags[@]}" 2>/dev/null
      value=$(bpb "$tmp/a"); peer=${peer:-$value}
      printf '| %s | %s | %s | %s | %s | %+.4f |\n' "$model" "$weights" "$name" \
        "$(bytes "$tmp/a")" "$value" "$(echo "$value - $peer" | bc -l)"
      rm -rf "$tmp/a"
    done
  done
done
