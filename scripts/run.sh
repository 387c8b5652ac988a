#!/usr/bin/env bash
# The main job on the bundled default: sets up, builds, then shows what quantc
# does today: a model in the qc dialect is parsed, verified and printed, with
# quantized weights in several formats.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
model=examples/tiny-qc-model.mlir
echo "== quant-opt $model (parse, verify, print)"
build/bin/quant-opt "$model"
echo "== verified: $(grep -c 'qc.linear' "$model") qc.linear ops, $(grep -c 'qc.qconstant' "$model") quantized weights"
