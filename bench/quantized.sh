#!/usr/bin/env bash
# Quantized weights end to end on the CPU, against the fp32 model in the
# same run: weights size, greedy decode tokens/s (128 bytes after a 256-byte
# prompt, KV cache; quant-run --generate, best of 5 rounds that alternate
# the artifacts) and prefill tokens/s
# (bench/prefill_bench.c, 16 x 256), for smallllama as fp32, W4 g128 (RTN,
# f16 scales) and W4 g128 with --int8-activations. MODEL is a shared model
# (tinyllama, smallllama) or a family of the model zoo (gpt2, opt, phi,
# llama, mistral, qwen: test/Zoo/zoo.py --size bench --kv, exported here).
# Usage: bench/quantized.sh [threads] [model]   (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
model=${2:-smallllama}
export OMP_NUM_THREADS=$threads
shared=../shared
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prompt=$(head -c 256 "$shared/data/brown-eval.txt")
onnx=$shared/models/$model/model_kv.onnx
if [ ! -f "$onnx" ]; then
  onnx=$tmp/$model.onnx
  /usr/bin/python3 test/Zoo/zoo.py "$onnx" --family "$model" --size bench --opset 17 --kv 2>/dev/null
fi
build/bin/quantc compile "$onnx" -o "$tmp/fp32" 2>/dev/null
build/bin/quantc compile "$onnx" -o "$tmp/w4" --wbits 4 --group 128 2>/dev/null
build/bin/quantc compile "$onnx" -o "$tmp/w4i8" --wbits 4 --group 128 --int8-activations 2>/dev/null
# Decode tokens/s of one run of an artifact.
decode_once() {
  build/bin/quant-run "$1" --generate "$prompt" -n 129 |
    sed -nE 's/.*decode ([0-9.]+) tokens\/s.*/\1/p'
}
prefill() {
  build/bin/prefill_bench "$1" 16 256 3 |
    /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['prefill'])"
}
# Decode: rounds alternate the three artifacts (a drift of the machine's
# speed then hits all of them), the best of each kept.
declare -A best=([fp32]=0 [w4]=0 [w4i8]=0)
for _ in 1 2 3 4 5; do
  for a in fp32 w4 w4i8; do
    d=$(decode_once "$tmp/$a")
    best[$a]=$(echo "if ($d > ${best[$a]}) $d else ${best[$a]}" | bc -l)
  done
done
f_decode=${best[fp32]}
f_prefill=$(prefill "$tmp/fp32")
printf '%s, %s threads\n\n' "$model" "$threads"
printf '| artifact | weights.bin (bytes) | decode (tok/s) | decode / fp32 | prefill (tok/s) | prefill / fp32 |\n'
printf '| --- | --- | --- | --- | --- | --- |\n'
for a in fp32 w4 w4i8; do
  d=${best[$a]}
  p=$( [[ $a == fp32 ]] && echo "$f_prefill" || prefill "$tmp/$a")
  printf '| %s | %s | %.0f | %.2f | %.0f | %.2f |\n' "$a" "$(stat -c %s "$tmp/$a/weights.bin")" \
    "$d" "$(echo "$d / $f_decode" | bc -l)" "$p" "$(echo "$p / $f_prefill" | bc -l)"
done
