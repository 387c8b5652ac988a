#!/usr/bin/env bash
# Bits per byte (EVAL.md protocol, one byte a step through the KV cache:
# quant-run --perplexity --stepwise) of the shared models with their KV cache
# stored in f32 (the peer, same run), int8, FP8 E4M3, int4 and int2 (quantc compile
# --kv-bits; per-token scales for keys and values, or per-channel keys:
# fixed scales calibrated on brown-calib.txt; with --kv-pre-rope, keys
# stored and calibrated before RoPE), with f32 and W4 weights,
# and the cache's bytes a position (quant-run --generate). Groups of 32 only
# on smallllama (tinyllama's heads are 32 wide: the same as no group).
# Usage: bench/kv_quality.sh [windows [ROWS]]   (windows: default 256, the
# protocol's; ROWS: an extended regex, only the rows whose line matches it,
# and the f32-cache peers, run)
set -euo pipefail
cd "$(dirname "$0")/.."
windows=${1:-256}
only=${2:-}
shared=../shared
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bpb() { build/bin/quant-run "$1" --perplexity "$shared/data/brown-eval.txt" --stepwise \
          --windows "$windows" 2>/dev/null | sed -nE 's/bits per byte: ([0-9.]+).*/\1/p'; }
bytes() { build/bin/quant-run "$1" --generate "The " -n 2 2>/dev/null |
          sed -nE 's/KV cache: ([0-9]+) bytes a position.*/\1/p'; }
printf '| model | weights | KV cache | bytes/position | bits per byte | vs f32 cache |\n'
printf '| --- | --- | --- | --- | --- | --- |\n'
declare -A peer
while read -r model weights cache flags; do
  [[ -z $only || $cache == f32 ]] || grep -Eq -- "$only" <<< "$model $weights $cache $flags" || continue
  flags=${flags//CALIB/$shared/data/brown-calib.txt}
  build/bin/quantc compile "$shared/models/$model/model_kv.onnx" -o "$tmp/a" \
    ${flags//,/ } 2>/dev/null
  value=$(bpb "$tmp/a")
  [[ $cache == f32 ]] && peer[$model$weights]=$value
  printf '| %s | %s | %s | %s | %s | %+.4f |\n' "$model" "$weights" "${cache//_/ }" \
    "$(bytes "$tmp/a")" "$value" "$(echo "$value - ${peer[$model$weights]}" | bc -l)"
  rm -rf "$tmp/a"
done <<'ROWS'
tinyllama f32 f32 --kv-bits=0
tinyllama f32 int8 --kv-bits=8
tinyllama f32 fp8_e4m3 --kv-bits=fp8
tinyllama f32 int4 --kv-bits=4
tinyllama f32 int4,_per-channel_keys --kv-bits=4,--kv-keys=per-channel,--calib=CALIB
tinyllama f32 int2 --kv-bits=2
tinyllama f32 int2,_per-channel_keys --kv-bits=2,--kv-keys=per-channel,--calib=CALIB
tinyllama f32 int8,_pre-RoPE_keys --kv-bits=8,--kv-pre-rope
tinyllama f32 int4,_per-channel_pre-RoPE_keys --kv-bits=4,--kv-keys=per-channel,--kv-pre-rope,--calib=CALIB
tinyllama f32 int2,_per-channel_pre-RoPE_keys --kv-bits=2,--kv-keys=per-channel,--kv-pre-rope,--calib=CALIB
tinyllama W4g128 f32 --wbits=4,--group=128
tinyllama W4g128 int8 --wbits=4,--group=128,--kv-bits=8
tinyllama W4g128 fp8_e4m3 --wbits=4,--group=128,--kv-bits=fp8
tinyllama W4g128 int4 --wbits=4,--group=128,--kv-bits=4
tinyllama W4g128 int4,_per-channel_keys --wbits=4,--group=128,--kv-bits=4,--kv-keys=per-channel,--calib=CALIB
tinyllama W4g128 int4,_per-channel_pre-RoPE_keys --wbits=4,--group=128,--kv-bits=4,--kv-keys=per-channel,--kv-pre-rope,--calib=CALIB
smallllama f32 f32 --kv-bits=0
smallllama f32 int8 --kv-bits=8
smallllama f32 fp8_e4m3 --kv-bits=fp8
smallllama f32 int4 --kv-bits=4
smallllama f32 int4,_group_32 --kv-bits=4,--kv-group=32
smallllama f32 int4,_per-channel_keys --kv-bits=4,--kv-keys=per-channel,--calib=CALIB
smallllama f32 int4,_per-channel_keys,_group_32 --kv-bits=4,--kv-keys=per-channel,--kv-group=32,--calib=CALIB
smallllama f32 int2 --kv-bits=2
smallllama f32 int2,_group_32 --kv-bits=2,--kv-group=32
smallllama f32 int2,_per-channel_keys,_group_32 --kv-bits=2,--kv-keys=per-channel,--kv-group=32,--calib=CALIB
smallllama f32 int8,_pre-RoPE_keys --kv-bits=8,--kv-pre-rope
smallllama f32 int4,_per-channel_pre-RoPE_keys --kv-bits=4,--kv-keys=per-channel,--kv-pre-rope,--calib=CALIB
smallllama f32 int2,_per-channel_pre-RoPE_keys,_group_32 --kv-bits=2,--kv-keys=per-channel,--kv-group=32,--kv-pre-rope,--calib=CALIB
smallllama W4g128 f32 --wbits=4,--group=128
smallllama W4g128 int8 --wbits=4,--group=128,--kv-bits=8
smallllama W4g128 fp8_e4m3 --wbits=4,--group=128,--kv-bits=fp8
smallllama W4g128 int4 --wbits=4,--group=128,--kv-bits=4
smallllama W4g128 int4,_group_32 --wbits=4,--group=128,--kv-bits=4,--kv-group=32
smallllama W4g128 int4,_per-channel_keys --wbits=4,--group=128,--kv-bits=4,--kv-keys=per-channel,--calib=CALIB
smallllama W4g128 int4,_per-channel_pre-RoPE_keys --wbits=4,--group=128,--kv-bits=4,--kv-keys=per-channel,--kv-pre-rope,--calib=CALIB
ROWS
