#!/usr/bin/env bash
# Builds what a device run needs into .device/ (ignored by git, carried to
# the GPU machine): the runtime-only runner qc-run and the runtime, CUDA
# artifacts of the shared models, and CPU reference outputs computed here.
# `small` builds .device-small/ instead: smallllama in f32 alone (its 38 MB
# of weights do not fit beside the rest in one call's 64 MiB).
#   bench/cuda/prepare.sh [small] [build-dir]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
small=
if [ "${1:-}" = small ]; then small=1; shift; fi
build=${1:-$root/build}
out=$root/.device${small:+-small}
shared=$root/../shared
rm -rf "$out" && mkdir -p "$out/lib" "$out/bin" "$out/ref"
cp "$build/bin/qc-run" "$out/bin/"
cp "$build/lib/libquantc_runtime.so" "$out/lib/"
cp "$shared/data/brown-eval.txt" "$out/"
cp "$root"/bench/cuda/device-check.sh "$root"/bench/cuda/zoo-check.py \
  "$root"/bench/cuda/profile.sh "$root"/bench/cuda/peers.py "$out/"
/usr/bin/python3 - "$out" <<'PY'
import numpy as np, sys
rng = np.random.default_rng(0)
np.save(sys.argv[1] + "/ref/ids.npy", rng.integers(0, 256, size=(2, 37)).astype(np.int64))
np.save(sys.argv[1] + "/ref/badids.npy", np.array([[1, 2, 300]], dtype=np.int64))
PY
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "$small" ]; then
  m=$shared/models/smallllama/model_kv.onnx
  "$build/bin/quantc" compile "$m" --target cuda -o "$out/small_cuda"
  "$build/bin/quantc" compile "$m" -o "$tmp/small_cpu"
  "$build/bin/qc-run" "$tmp/small_cpu" --perplexity "$shared/data/brown-eval.txt" \
    2>/dev/null > "$out/ref/small_bpb.txt"
  "$build/bin/qc-run" "$tmp/small_cpu" --generate "The " -n 24 | head -2 > "$out/ref/small_gen.txt"
  du -sh "$out"
  exit 0
fi
model=$shared/models/tinyllama/model.onnx
"$build/bin/quantc" compile "$model" --target cuda -o "$out/tiny_cuda"
"$build/bin/quantc" compile "$model" -o "$tmp/tiny_cpu"
"$build/bin/qc-run" "$tmp/tiny_cpu" --input input_ids="$out/ref/ids.npy" -o "$out/ref/tiny"
"$build/bin/qc-run" "$tmp/tiny_cpu" --perplexity "$shared/data/brown-eval.txt" \
  | tee "$out/ref/tiny_bpb.txt"
kv=$shared/models/tinyllama/model_kv.onnx
"$build/bin/quantc" compile "$kv" --target cuda -o "$out/tinykv_cuda"
"$build/bin/quantc" compile "$kv" -o "$tmp/tinykv_cpu"
"$build/bin/qc-run" "$tmp/tinykv_cpu" --generate "The " -n 24 | head -2 > "$out/ref/tinykv_generate.txt"
"$build/bin/qc-run" "$tmp/tinykv_cpu" --perplexity "$shared/data/brown-eval.txt" \
  --stepwise --windows 8 2>/dev/null > "$out/ref/tinykv_stepwise_bpb.txt"
# 4-bit weights (RTN, groups of 128) through the same generic lowering.
for m in tinyllama/model.onnx smallllama/model_kv.onnx; do
  name=$(dirname "$m")_w4
  "$build/bin/quantc" compile "$shared/models/$m" --wbits 4 --target cuda -o "$out/${name}_cuda"
  "$build/bin/quantc" compile "$shared/models/$m" --wbits 4 -o "$tmp/${name}_cpu"
  "$build/bin/qc-run" "$tmp/${name}_cpu" --perplexity "$shared/data/brown-eval.txt" \
    2>/dev/null > "$out/ref/${name}_bpb.txt"
done
# The zoo: models without a cache against ONNX Runtime there; decoders with
# one by bits per byte (whole windows and token by token) against the CPU.
mkdir -p "$out/zoo"
for m in "$root"/test/Zoo/Inputs/*.onnx; do
  name=$(basename "$m" .onnx)
  "$build/bin/quantc" compile "$m" --target cuda -o "$out/zoo/${name}_cuda" 2>/dev/null
  case $name in
  *_kv_*)
    "$build/bin/quantc" compile "$m" -o "$tmp/$name" 2>/dev/null
    for mode in "" --stepwise; do
      "$build/bin/qc-run" "$tmp/$name" --perplexity "$shared/data/brown-eval.txt" --windows 2 \
        $mode 2>/dev/null > "$out/ref/${name}${mode}_bpb.txt"
    done ;;
  *) cp "$m" "$out/zoo/" ;;
  esac
done
du -sh "$out"
