#!/usr/bin/env bash
# End-to-end CPU throughput of compiled artifacts against ONNX Runtime (CPU,
# same thread count) measured in the same run: prefill tokens/s on a
# 16 x 256 batch (bench/prefill_bench.c: the runtime's C API, a session
# keeping the KV cache; ONNX Runtime returns it as the present outputs; one
# warm-up run, then the mean of 3, on both sides), and greedy decode
# tokens/s (128 bytes after a 256-byte prompt, with the KV cache).
# Models: the two shared LLaMAs, then one row per family of the model zoo
# (test/Zoo/zoo.py --size bench: d 384, 5 layers, 6 heads, ffn 1536,
# random weights), exported here with Debian's PyTorch at opset 17 as
# decoder-with-past graphs (BERT: the plain encoder, prefill only).
# Each model runs ROUNDS (default 3) rounds of quantc then ORT; the table
# gives the median throughputs and the median of the rounds' ratios.
# Usage: [ROUNDS=3] bench/cpu.sh [threads] [all|shared|zoo|FAMILY,...]
# (default 2 all; after scripts/build.sh, ORT from setup, python3-torch for
# the zoo)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
which=${2:-all}
ROUNDS=${ROUNDS:-3}
export OMP_NUM_THREADS=$threads
shared=../shared
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prompt=$(head -c 256 "$shared/data/brown-eval.txt")

models=()
families=gpt2,opt,phi,llama,mistral,qwen,bert
case "$which" in
  all | shared)
    models+=("$shared/models/tinyllama/model_kv.onnx" "$shared/models/smallllama/model_kv.onnx") ;;
  zoo) ;;
  *) families=$which ;;
esac
if [ "$which" != shared ]; then
  for family in ${families//,/ }; do
    kv=--kv
    [ "$family" = bert ] && kv=
    /usr/bin/python3 test/Zoo/zoo.py "$tmp/zoo-$family.onnx" --family "$family" \
        --size bench --opset 17 $kv 2>/dev/null
    models+=("$tmp/zoo-$family.onnx")
  done
fi

printf '| model | quantc prefill (tok/s) | ORT prefill (tok/s) | quantc / ORT | quantc decode (tok/s) | ORT decode (tok/s) | quantc / ORT |\n'
printf '| --- | --- | --- | --- | --- | --- | --- |\n'
for model in "${models[@]}"; do
  name=${model#"$shared/models/"}
  name=${name#"$tmp/"}
  # KV heads and head size from the first past input, if the model has one.
  read -r heads dim < <(/usr/bin/python3 -c "
import onnx, sys
g = onnx.load(sys.argv[1], load_external_data=False).graph
past = [i for i in g.input if i.name.startswith('past_key_values')]
d = [x.dim_value for x in past[0].type.tensor_type.shape.dim] if past else [0, 0, 0, 0]
print(d[1], d[3])" "$model")
  build/bin/quantc compile "$model" -o "$tmp/art" 2>/dev/null
  # Rounds alternate quantc and ORT, so a drift of the machine's speed
  # (25% within minutes on shared machines) hits both sides of a ratio.
  rounds=()
  for _ in $(seq "$ROUNDS"); do
    q_prefill=$(build/bin/prefill_bench "$tmp/art" 16 256 3 |
                /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['prefill'])")
    q_decode=0
    if [ "$heads" != 0 ]; then
      q_decode=$(build/bin/quant-run "$tmp/art" --generate "$prompt" -n 129 |
                 sed -nE 's/.*decode ([0-9.]+) tokens\/s.*/\1/p')
    fi
    rounds+=("$q_prefill $q_decode $(NODE_PATH=build/ort/node_modules node bench/ort_bench.js \
        "$model" 16 256 128 "$threads" "$heads" "$dim" |
        /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(d['prefill'], d['decode'])")")
  done
  # Medians over the rounds: of each throughput, and of each round's ratio.
  printf '%s\n' "${rounds[@]}" | /usr/bin/python3 -c "
import statistics as st, sys
r = [list(map(float, l.split())) for l in sys.stdin]
qp, qd, op, od = (st.median([x[i] for x in r]) for i in range(4))
pr = st.median([x[0] / x[2] for x in r])
row = f'| $name | {qp:.0f} | {op:.0f} | {pr:.2f} |'
if qd > 0:
    dr = st.median([x[1] / x[3] for x in r])
    row += f' {qd:.0f} | {od:.0f} | {dr:.2f} |'
else:
    row += ' (no cache) | | |'
print(row)"
  rm -rf "$tmp/art"
done
