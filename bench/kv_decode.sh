#!/usr/bin/env bash
# Decode speed of a compiled model through its KV cache after a long prompt,
# with the cache stored in f32 (the peer, same run) and in int8 / FP8 E4M3 / int4
# (quantc compile --kv-bits: per-token scales, and per-channel keys
# calibrated on brown-calib.txt, "c"; keys stored before RoPE, "r"):
# greedy decoding of N bytes
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
caches=(f32 8 fp8 4 8c 4c 8r 4cr)
onnx=$model; [[ $model == *.onnx ]] || onnx=$shared/models/$model/model_kv.onnx
for c in "${caches[@]}"; do
  bits=${c%r}; bits=${bits%c}
  flags=(); [[ $c != f32 ]] && flags=(--kv-bits "$bits")
  [[ $c == *c* ]] && flags+=(--kv-keys per-channel --calib "$shared/data/brown-calib.txt")
  [[ $c == *r ]] && flags+=(--kv-pre-rope)
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
  case $c in
    f32) name=f32 ;;
    fp8) name="fp8 e4m3" ;;
    *) bits=${c%r}; name=int${bits%c} ;;
  esac
  [[ $c == *c* ]] && name+=", per-channel keys"
  [[ $c == *r ]] && name+=", pre-RoPE keys"
  printf '| %s | %s | %s | %.2fx |\n' "$name" "${bytes[$c]}" "${best[$c]}" \
    "$(echo "${best[$c]} / ${best[f32]}" | bc -l)"
done
