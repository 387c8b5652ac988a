#!/usr/bin/env bash
# Bits per byte (EVAL.md protocol) of W8A8 on the shared models, beside the
# peer figures of issue 15 (the reference SmoothQuant code; int8 per-channel
# weights): fp32, W8 (f32 activations), W8A8 with dynamic per-token and
# static per-tensor activation scales, each plain and with SmoothQuant
# (alpha 0.5, and 0.8 and auto for static), and LLM.int8() (--outlier-threshold 6,
# dynamic and static, with the input columns it left in f32). Calibration:
# brown-calib.txt, 256 windows. Usage: bench/w8a8_quality.sh   (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
calib=(--calib "$shared/data/brown-calib.txt")
w8=(--wbits 8 --per-channel --sym --scale f32)
bpb() {
  rm -rf "$tmp/a"
  # The split's report: the fraction of input columns left in f32.
  build/bin/quantc compile "$onnx" -o "$tmp/a" "$@" 2>&1 >/dev/null |
    sed -nE 's/.*split-outliers: threshold [0-9.]+: ([0-9]+ of [0-9]+) input columns \(([0-9.]+%)\).*/\1 (\2)/p' > "$tmp/split.txt.new"
  if [ -s "$tmp/split.txt.new" ]; then mv "$tmp/split.txt.new" "$tmp/split.txt"; fi
  build/bin/quant-run "$tmp/a" --perplexity "$shared/data/brown-eval.txt" 2>/dev/null |
    sed -nE 's/bits per byte: ([0-9.]+).*/\1/p'
}
printf '| model | fp32 | W8 | W8A8 per-token | SQ 0.5 per-token | W8A8 per-tensor | SQ 0.5 per-tensor | SQ 0.8 per-tensor | SQ auto per-tensor | LLM.int8() per-token | LLM.int8() per-tensor | f32 columns |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
while read -r model peer; do
  onnx=$shared/models/$model/model_kv.onnx
  row=("$(bpb)" "$(bpb "${w8[@]}")" "$(bpb "${w8[@]}" --abits 8)"
       "$(bpb "${w8[@]}" --abits 8 --smoothquant 0.5 "${calib[@]}")"
       "$(bpb "${w8[@]}" --abits 8 --act-scale static "${calib[@]}")"
       "$(bpb "${w8[@]}" --abits 8 --act-scale static --smoothquant 0.5 "${calib[@]}")"
       "$(bpb "${w8[@]}" --abits 8 --act-scale static --smoothquant 0.8 "${calib[@]}")"
       "$(bpb "${w8[@]}" --abits 8 --act-scale static --smoothquant auto "${calib[@]}")"
       "$(bpb "${w8[@]}" --abits 8 --outlier-threshold 6 "${calib[@]}")"
       "$(bpb "${w8[@]}" --abits 8 --act-scale static --outlier-threshold 6 "${calib[@]}")"
       "$(cat "$tmp/split.txt")")
  printf '| %s | %s |\n' "$model" "$(IFS='|'; echo "${row[*]}" | sed 's/|/ | /g')"
  printf '| %s (peer) | %s |\n' "$model" "$peer"
done <<'ROWS'
tinyllama 1.9812 | n/a | 1.9817 | 1.9821 | 1.9911 | 1.9914 | n/a | n/a | n/a | n/a | n/a
smallllama 1.9828 | n/a | 1.9831 | 1.9832 | 1.9885 | 1.9893 | n/a | n/a | n/a | n/a | n/a
ROWS
