#!/usr/bin/env bash
# Decode speed of a compiled model through its KV cache after a long prompt,
# with the cache stored in f32 (the peer, same run) and in int8 / FP8 E4M3 / int4
# (quantc compile --kv-bits: per-token scales, and per-channel keys
# calibrated on brown-calib.txt, "c"): greedy decoding of N bytes
# after the first P bytes of the evaluation text (quant-run --generate:
# decode tokens/s), best of R rounds, the rounds interleaved across caches.
# Usage: bench/kv_decode.sh [model (smallllama)] [P (480: the shared models hold 512 positions)] [N (64)] [R (3)] [quantc flags...]
#   model: a shared model's name, or an .onnx file (test/Zoo/zoo.py --size long
#   --kv: LLaMA-7B's attention heads, 8192 positions)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-smallllama}; prompt=${2:-480}; n=${3:-64}; rounds=${4:-3}
shift $(( $# < 4 ? $# : 4 ))
shared=../shared
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
text=$(head -c "$prompt" "$shared/data/brown-eval.txt" | tr -d '\0')
caches=(f32 8 fp8 4 8c 4c)
onnx=$model; [[ $model == *.onnx ]] || onnx=$shared/models/$model/model_kv.onnx
for c in "${caches[@]}"; do
  flags=(); [[ $c != f32 ]] && flags=(--kv-bits "${c%c}")
  [[ $c == *c ]] && flags+=(--kv-keys per-channel --calib "$shared/data/brown-calib.txt")
  build/bin/quantc compile "$onnx" -o "$tmp/$c" "$@" \
    "${flags[@]}" 2>/dev/null
done
declare -A best bytes
for ((r = 0; r < rounds; ++r)); do
  for c in "${caches[@]}"; do
    out=$(build/bin/quant-run "$tmp/$c" --generate "$text" -n "$n" 2>/dev/null)
    rate=$(sed -nE 's/.*decode ([0-9.]+) tokens\/s.*/\1/p' <<< "$out")
    bytes[$c]=$(sed -nE 's/KV cache: ([0-9]+) bytes a position.*/\1/p' <<< "$out")
    if [[ -z ${best[$c]:-} ]] || (( $(echo "$rate > ${best[$c]}" | bc -l) )); then
      best[$c]=$rate
    fi
  done
done
echo "$(basename "$model"), weights: ${*:-f32}; decode of $n bytes after $prompt, best of $rounds"
printf '| KV cache | bytes/position | decode tokens/s | vs f32 cache |\n| --- | --- | --- | --- |\n'
for c in "${caches[@]}"; do
  name=$c; [[ $c != f32 && $c != fp8 ]] && name=int${c%c}
  [[ $c == fp8 ]] && name="fp8 e4m3"
  [[ $c == *c ]] && name+=", per-channel keys"
  printf '| %s | %s | %s | %.2fx |\n' "$name" "${bytes[$c]}" "${best[$c]}" \
    "$(echo "${best[$c]} / ${best[f32]}" | bc -l)"
done
