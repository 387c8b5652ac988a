#!/usr/bin/env bash
# Bits per byte (EVAL.md protocol) of round-to-nearest and GPTQ weights on
# the shared models, beside EVAL.md's peer GPTQ figures, for each row of its
# table; f32 scales, affine, transformer-block layers (the peer's setting).
# Usage: bench/quality.sh [GPTQ options of quantc compile...]
#   With quantc's defaults (act-order, one calibration of the fp32 model)
#   each model is calibrated once (its first GPTQ row, whose time includes
#   it) and the statistics file serves its other rows; with
#   --true-sequential every row calibrates per stage.
set -euo pipefail
cd "$(dirname "$0")/.."
options=("$@")
shared=../shared
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bpb() { build/bin/quant-run "$1" --perplexity "$shared/data/brown-eval.txt" 2>/dev/null |
        sed -nE 's/bits per byte: ([0-9.]+).*/\1/p'; }
printf '| model | setting | quantc RTN | peer RTN | quantc GPTQ | peer GPTQ | GPTQ - peer | GPTQ s |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- |\n'
while read -r model setting args peer_rtn peer_gptq; do
  onnx=$shared/models/$model/model_kv.onnx
  build/bin/quantc compile "$onnx" -o "$tmp/rtn" ${args//,/ } --scale f32 2>/dev/null
  rtn=$(bpb "$tmp/rtn")
  start=$(date +%s.%N)
  stats=$tmp/$model.qcstats
  calib=(--calib "$shared/data/brown-calib.txt" --calib-stats "$stats")
  [[ -e $stats && ! " ${options[*]} " =~ " --true-sequential " ]] && calib=(--calib-stats "$stats")
  [[ " ${options[*]} " =~ " --true-sequential " ]] && calib=(--calib "$shared/data/brown-calib.txt")
  build/bin/quantc compile "$onnx" -o "$tmp/gptq" ${args//,/ } --scale f32 --algo gptq \
    "${calib[@]}" "${options[@]}" 2>/dev/null
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  gptq=$(bpb "$tmp/gptq")
  printf '| %s | %s | %s | %s | %s | %s | %+.4f | %.0f |\n' "$model" "$setting" "$rtn" \
    "$peer_rtn" "$gptq" "$peer_gptq" "$(echo "$gptq - $peer_gptq" | bc -l)" "$seconds"
  rm -rf "$tmp/rtn" "$tmp/gptq"
done <<'ROWS'
tinyllama W4g128 --wbits=4,--group=128 1.9940 1.9880
tinyllama W4pc --wbits=4,--per-channel 1.9990 1.9920
tinyllama W3g128 --wbits=3,--group=128 2.0641 2.0285
tinyllama W3pc --wbits=3,--per-channel 2.0896 2.0291
tinyllama W2g64 --wbits=2,--group=64 2.5899 2.2740
smallllama W4g128 --wbits=4,--group=128 1.9897 1.9855
smallllama W4pc --wbits=4,--per-channel 1.9915 1.9872
smallllama W3g128 --wbits=3,--group=128 2.0150 1.9938
smallllama W3pc --wbits=3,--per-channel 2.0270 1.9983
smallllama W2g64 --wbits=2,--group=64 2.2031 2.0641
ROWS
