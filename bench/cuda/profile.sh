#!/usr/bin/env bash
# On the GPU machine, from .device/: where a decode step's time goes, per
# kernel (Nsight Compute's kernel durations; clocks left alone).
#   bash profile.sh ARTIFACT [tokens]
set -euo pipefail
export LD_LIBRARY_PATH=$PWD/lib PATH=$PATH:/usr/local/cuda/bin
artifact=$1 tokens=${2:-4}
ncu --clock-control none --metrics gpu__time_duration.sum --csv \
  ./bin/qc-run "$artifact" --generate "The " -n "$tokens" > "${OUT:-/tmp}/profile.csv" 2>/dev/null || true
python3 - "${OUT:-/tmp}/profile.csv" <<'PY'
import csv, collections, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
head, rows = rows[0], rows[1:]
name, value = head.index("Kernel Name"), head.index("Metric Value")
total = collections.Counter()
count = collections.Counter()
for r in rows:
    total[r[name]] += float(r[value].replace(",", ""))
    count[r[name]] += 1
all_ns = sum(total.values())
print(f"{len(rows)} launches, {len(total)} kernels, {all_ns/1e6:.2f} ms of kernel time")
for k, ns in total.most_common(12):
    print(f"{k:>20} {count[k]:5d} launches {ns/1e6:8.3f} ms {100*ns/all_ns:5.1f}%")
PY
