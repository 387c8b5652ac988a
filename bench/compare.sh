#!/usr/bin/env bash
# Artifacts against each other in one run: each round runs every artifact
# once (greedy decode tokens/s: 128 bytes after a 256-byte prompt with the
# KV cache, quant-run --generate; prefill tokens/s: bench/prefill_bench.c,
# 16 x 256), rounds alternating so a slower minute hits all of them; prints
# each artifact's median over the rounds and its ratio to the first one.
# For before/after tables: compile the same model with two builds of quantc
# and compare the artifacts here.
# Usage: [ROUNDS=4] bench/compare.sh [threads] ARTIFACT... (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
shift
[ $# -ge 1 ] || { echo "usage: bench/compare.sh [threads] ARTIFACT..." >&2; exit 2; }
export OMP_NUM_THREADS=$threads
ROUNDS=${ROUNDS:-4}
prompt=$(head -c 256 ../shared/data/brown-eval.txt)
for _ in $(seq "$ROUNDS"); do
  for a in "$@"; do
    d=$(build/bin/quant-run "$a" --generate "$prompt" -n 129 2>&1 |
        sed -nE 's/.*decode ([0-9.]+) tokens\/s.*/\1/p')
    p=$(build/bin/prefill_bench "$a" 16 256 "$threads" |
        /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['prefill'])")
    echo "$a ${d:-0} $p"
  done
done | /usr/bin/python3 -c "
import collections, statistics as st, sys
runs = collections.defaultdict(list)
for line in sys.stdin:
    a, d, p = line.split()
    runs[a].append((float(d), float(p)))
first = None
print(f'{\"artifact\":40} {\"decode tok/s\":>12} {\"ratio\":>6} {\"prefill tok/s\":>13} {\"ratio\":>6}')
for a, v in runs.items():
    d, p = st.median(x[0] for x in v), st.median(x[1] for x in v)
    first = first or (d, p)
    print(f'{a:40} {d:12.0f} {d / first[0]:6.2f} {p:13.0f} {p / first[1]:6.2f}')
print(f'({len(next(iter(runs.values())))} rounds, {sys.argv[1]} threads)')
" "$threads"
