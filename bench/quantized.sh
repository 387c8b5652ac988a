#!/usr/bin/env bash
# Quantized weights end to end on the CPU, against the fp32 model in the
# same run: weights size, greedy decode tokens/s (128 bytes after a 256-byte
# prompt, KV cache; quant-run --generate) and prefill tokens/s
# (bench/prefill_bench.c, 16 x 256), each the best of 5 rounds that
# alternate the artifacts, for smallllama as fp32 and SET:
#   w4 (default): W4 g128 (RTN, f16 scales), and with --int8-activations;
#   w8a8: W8 per channel with f32 activations, W8A8 with dynamic (per-token)
#         and static (per-tensor, calibrated on 64 windows of brown-calib)
#         activation scales;
#         With ONNX Runtime (build/ort), two more rows measured in the same
#         run: ORT on the fp32 model, and on the model as ORT's own dynamic
#         quantization writes it (bench/w8a8_models.py --model:
#         DynamicQuantizeLinear + MatMulInteger for every MatMul, the output
#         head included); "weights.bin" is then the ONNX file's size;
#   llmint8: W8A8 dynamic beside LLM.int8() (--outlier-threshold 6: input
#         channels whose calibration absmax passes 6 stay f32), dynamic and
#         static.
# MODEL is a shared model (tinyllama, smallllama) or a family of the model
# zoo (gpt2, opt, phi, llama, mistral, qwen: test/Zoo/zoo.py --size bench
# --kv, exported here).
# Usage: bench/quantized.sh [threads] [model] [set]   (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
model=${2:-smallllama}
set=${3:-w4}
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
declare -A options=([fp32]="")
case $set in
  w4) artifacts=(fp32 w4 w4i8)
      options[w4]="--wbits 4 --group 128"
      options[w4i8]="--wbits 4 --group 128 --int8-activations" ;;
  w8a8) artifacts=(fp32 w8 w8a8-dynamic w8a8-static)
      w8="--wbits 8 --per-channel --sym --scale f32"
      options[w8]=$w8
      options[w8a8-dynamic]="$w8 --abits 8"
      options[w8a8-static]="$w8 --abits 8 --act-scale static --calib $shared/data/brown-calib.txt --calib-windows 64" ;;
  llmint8) artifacts=(fp32 w8a8-dynamic llmint8-dynamic llmint8-static)
      w8="--wbits 8 --per-channel --sym --scale f32 --abits 8"
      calib="--calib $shared/data/brown-calib.txt --calib-windows 64"
      options[w8a8-dynamic]=$w8
      options[llmint8-dynamic]="$w8 --outlier-threshold 6 $calib"
      options[llmint8-static]="$w8 --act-scale static --outlier-threshold 6 $calib" ;;
  *) echo "unknown set '$set' (w4, w8a8 or llmint8)" >&2; exit 2 ;;
esac
for a in "${artifacts[@]}"; do
  build/bin/quantc compile "$onnx" -o "$tmp/$a" ${options[$a]} 2>/dev/null
done
# Decode tokens/s of one run of an artifact.
decode_once() {
  build/bin/quant-run "$1" --generate "$prompt" -n 129 |
    sed -nE 's/.*decode ([0-9.]+) tokens\/s.*/\1/p'
}
prefill() {
  build/bin/prefill_bench "$1" 16 256 3 |
    /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['prefill'])"
}
# Decode and prefill: rounds alternate the artifacts (a drift of the
# machine's speed then hits all of them), the best of each kept.
declare -A best best_prefill
for a in "${artifacts[@]}"; do best[$a]=0; best_prefill[$a]=0; done
for _ in 1 2 3 4 5; do
  for a in "${artifacts[@]}"; do
    d=$(decode_once "$tmp/$a")
    best[$a]=$(echo "if ($d > ${best[$a]}) $d else ${best[$a]}" | bc -l)
    p=$(prefill "$tmp/$a")
    best_prefill[$a]=$(echo "if ($p > ${best_prefill[$a]}) $p else ${best_prefill[$a]}" | bc -l)
  done
done
f_decode=${best[fp32]}
f_prefill=${best_prefill[fp32]}
printf '%s, %s threads\n\n' "$model" "$threads"
printf '| artifact | weights.bin (bytes) | decode (tok/s) | decode / fp32 | prefill (tok/s) | prefill / fp32 |\n'
printf '| --- | --- | --- | --- | --- | --- |\n'
for a in "${artifacts[@]}"; do
  d=${best[$a]}
  p=${best_prefill[$a]}
  printf '| %s | %s | %.0f | %.2f | %.0f | %.2f |\n' "$a" "$(stat -c %s "$tmp/$a/weights.bin")" \
    "$d" "$(echo "$d / $f_decode" | bc -l)" "$p" "$(echo "$p / $f_prefill" | bc -l)"
done
# ONNX Runtime's rows (set w8a8): prefill 16 x 256 and greedy decode of
# 128 tokens after 256 (bench/ort_bench.js), best of 3 alternating rounds.
if [[ $set == w8a8 && -d build/ort/node_modules/onnxruntime-node ]]; then
  /usr/bin/python3 bench/w8a8_models.py --model "$onnx" "$tmp/ort-dq.onnx" > /dev/null
  read -r heads dim < <(/usr/bin/python3 -c "
import onnx, sys
g = onnx.load(sys.argv[1], load_external_data=False).graph
past = [i for i in g.input if i.name.startswith('past_key_values')]
d = [x.dim_value for x in past[0].type.tensor_type.shape.dim]
print(d[1], d[3])" "$onnx")
  declare -A ort=([ort-fp32]=$onnx [ort-dynamic-quant]=$tmp/ort-dq.onnx)
  declare -A od op
  for r in ort-fp32 ort-dynamic-quant; do od[$r]=0; op[$r]=0; done
  for _ in 1 2 3; do
    for r in ort-fp32 ort-dynamic-quant; do
      read -r p d < <(NODE_PATH=build/ort/node_modules node bench/ort_bench.js \
          "${ort[$r]}" 16 256 128 "$threads" "$heads" "$dim" |
          /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(d['prefill'], d['decode'])")
      od[$r]=$(echo "if ($d > ${od[$r]}) $d else ${od[$r]}" | bc -l)
      op[$r]=$(echo "if ($p > ${op[$r]}) $p else ${op[$r]}" | bc -l)
    done
  done
  for r in ort-fp32 ort-dynamic-quant; do
    size=$(du -bL "${ort[$r]}" | cut -f1)
    [[ -f ${ort[$r]%.onnx}.weights ]] && size=$((size + $(stat -c %s "${ort[$r]%.onnx}.weights")))
    printf '| %s | %s | %.0f | %.2f | %.0f | %.2f |\n' "$r" "$size" \
      "${od[$r]}" "$(echo "${od[$r]} / $f_decode" | bc -l)" "${op[$r]}" "$(echo "${op[$r]} / $f_prefill" | bc -l)"
  done
fi
