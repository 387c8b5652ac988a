#!/usr/bin/env bash
# Builds what a device run needs into .device/ (ignored by git, carried to
# the GPU machine): the runtime-only runner qc-run and the runtime, CUDA
# artifacts of the shared models, and CPU reference outputs computed here.
# `small` builds .device-small/ instead: smallllama in f32 alone (its 38 MB
# of weights do not fit beside the rest in one call's 64 MiB). `kernels`
# builds .device-kernels/: the fused dequantize-matmul kernel against float64
# (every format, three shapes), the 4-bit shared models, and one-layer
# models at the peers' shapes for timing. `kernels-zoo` builds
# .device-kernels-zoo/: the zoo's decoders with 4-bit weights (beside the
# rest they would pass the 64 MiB). `kernels-zoo-bench` builds
# .device-kernels-zoo-bench/: three families exported at the zoo's bench
# size (d = 384: wide enough for the tensor-core kernel, which the small
# zoo models never reach), checked the same way (device-check.sh
# kernels-zoo).
# `tiles` builds .device-tiles/: the one-layer models of `kernels` compiled
# twice, with quantc-cuda-qmatmul's default tiles and with those chosen by
# the codes' bits and the rows (row-tiles=0 channel-tiles=0), for the A/B
# of device-check.sh tiles. CUDA_QMATMUL="OPTIONS" compiles every CUDA
# artifact with those pass options (quantc --cuda-qmatmul).
#   bench/cuda/prepare.sh [small|kernels|kernels-zoo|kernels-zoo-bench|tiles] [build-dir]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mode=
case ${1:-} in small|kernels|kernels-zoo|kernels-zoo-bench|tiles) mode=$1; shift ;; esac
cuda=()
[ -n "${CUDA_QMATMUL:-}" ] && cuda=(--cuda-qmatmul "$CUDA_QMATMUL")
build=${1:-$root/build}
out=$root/.device${mode:+-$mode}
shared=$root/../shared
rm -rf "$out" && mkdir -p "$out/lib" "$out/bin" "$out/ref"
cp "$build/bin/qc-run" "$out/bin/"
cp "$build/lib/libquantc_runtime.so" "$out/lib/"
cp "$shared/data/brown-eval.txt" "$out/"
cp "$root"/bench/cuda/device-check.sh "$root"/bench/cuda/zoo-check.py \
  "$root"/bench/cuda/profile.sh "$root"/bench/cuda/peers.py "$out/"
# One quantized layer per artifact (qmatmul_models.py) into folder $1,
# compiled with the CUDA flags that follow; splat weights, compressed.
layers() {
  local dir=$1; shift
  /usr/bin/python3 "$root/bench/cuda/qmatmul_models.py" "$dir"
  for m in "$dir"/*.mlir; do
    "$build/bin/quantc" compile "$m" --target cuda "$@" -o "${m%.mlir}" 2>/dev/null
    gzip -1 "${m%.mlir}/weights.bin"
    rm "$m"
  done
}
if [ "$mode" = tiles ]; then
  layers "$out/layers-default"
  layers "$out/layers-auto" --cuda-qmatmul "row-tiles=0 channel-tiles=0"
  du -sh "$out"
  exit 0
fi
if [ "$mode" = kernels-zoo-bench ]; then
  mkdir -p "$out/zoo"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  for family in gpt2 phi qwen; do
    name=${family}_bench_w4
    /usr/bin/python3 "$root/test/Zoo/zoo.py" "$tmp/$family.onnx" --family "$family" \
      --size bench --kv --opset 17 > /dev/null
    "$build/bin/quantc" compile "$tmp/$family.onnx" --wbits 4 --target cuda "${cuda[@]}" -o "$out/zoo/${name}_cuda" 2>/dev/null
    "$build/bin/quantc" compile "$tmp/$family.onnx" --wbits 4 -o "$tmp/cpu_$family" 2>/dev/null
    "$build/bin/qc-run" "$tmp/cpu_$family" --perplexity "$shared/data/brown-eval.txt" --windows 2 \
      2>/dev/null > "$out/ref/${name}_bpb.txt"
  done
  du -sh "$out"
  exit 0
fi
if [ "$mode" = kernels-zoo ]; then
  # The zoo's decoders (other families, opsets 18 and 21) with 4-bit
  # weights: bits per byte on the GPU against the CPU's.
  mkdir -p "$out/zoo"
  for m in "$root"/test/Zoo/Inputs/*_kv_*.onnx; do
    name=$(basename "$m" .onnx)
    "$build/bin/quantc" compile "$m" --wbits 4 --target cuda "${cuda[@]}" -o "$out/zoo/${name}_w4_cuda" 2>/dev/null
    tmp=$(mktemp -d)
    "$build/bin/quantc" compile "$m" --wbits 4 -o "$tmp/cpu" 2>/dev/null
    "$build/bin/qc-run" "$tmp/cpu" --perplexity "$shared/data/brown-eval.txt" --windows 2 \
      2>/dev/null > "$out/ref/${name}_w4_bpb.txt"
    rm -rf "$tmp"
  done
  du -sh "$out"
  exit 0
fi
if [ "$mode" = kernels ]; then
  formats=$root/test/Conversion/QcToLinalg/Inputs/quantized_formats.py
  cp "$formats" "$out/"
  # K x N x rows: the default (rows of 50 bytes: byte loads), 1040 x 72 x 1
  # (whole words, one row: the decode kernel), 257 x 37 x 19 (odd K: the
  # last byte half padding; 19 rows: three blocks of 8, the last short),
  # 4128 x 13 x 1 (16-byte code units, a pipelined trip and a ragged tail);
  # then the tensor-core kernel (f16 operands: tolerance 2e-3): 1024 x 40 x
  # 37 (K split in 2, partial tiles of rows and channels), 2048 x 24 x 130
  # (9 blocks of rows, K split in 4), 512 x 40 x 20 (K not split), 2816 x 8
  # x 20 (22 trips in 5 splits: the last one short; 8 channels keep the
  # folder inside a call's 64 MiB).
  for shape in "100 24 5" "1040 72 1" "257 37 19" "4128 13 1" \
               "1024 40 37" "2048 24 130" "512 40 20" "2816 8 20"; do
    d=$out/qf/$(echo "$shape" | tr ' ' x)
    mkdir -p "$d"
    case $shape in
      "1024 40 37"|"2048 24 130"|"512 40 20"|"2816 8 20") echo 2e-3 > "$d/tolerance" ;;
      # 4-bit codes in 16-byte units, one row: f16 pairs.
      "4128 13 1") echo 1e-5,int4=2e-3 > "$d/tolerance" ;;
    esac
    /usr/bin/python3 "$formats" write "$d" $shape
    "$build/bin/quantc" compile "$d/model.mlir" --target cuda "${cuda[@]}" -o "$d/cuda" 2>/dev/null
    "$build/bin/quant-opt" "$d/model.mlir" --qc-dequantize-constants -o "$d/reference.mlir"
    "$build/bin/quant-run" "$d/reference.mlir" --input x="$d/eye.npy" --input x3="$d/eye3.npy" \
      -o "$d/reference" --output-format npy > /dev/null
    rm "$d/model.mlir" "$d/reference.mlir" "$d"/eye*.npy
  done
  (cd "$out" && tar czf qf.tgz qf && rm -rf qf)
  layers "$out/layers" "${cuda[@]}"
  for m in tinyllama/model_kv.onnx smallllama/model_kv.onnx; do
    name=$(dirname "$m")_w4
    "$build/bin/quantc" compile "$shared/models/$m" --wbits 4 --target cuda "${cuda[@]}" -o "$out/${name}_cuda"
    tmp=$(mktemp -d)
    "$build/bin/quantc" compile "$shared/models/$m" --wbits 4 -o "$tmp/cpu"
    "$build/bin/qc-run" "$tmp/cpu" --perplexity "$shared/data/brown-eval.txt" \
      2>/dev/null > "$out/ref/${name}_bpb.txt"
    "$build/bin/qc-run" "$tmp/cpu" --generate "The " -n 24 | head -2 > "$out/ref/${name}_gen.txt"
    rm -rf "$tmp"
  done
  du -sh "$out"
  exit 0
fi
/usr/bin/python3 - "$out" <<'PY'
import numpy as np, sys
rng = np.random.default_rng(0)
np.save(sys.argv[1] + "/ref/ids.npy", rng.integers(0, 256, size=(2, 37)).astype(np.int64))
np.save(sys.argv[1] + "/ref/badids.npy", np.array([[1, 2, 300]], dtype=np.int64))
PY
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$mode" = small ]; then
  m=$shared/models/smallllama/model_kv.onnx
  "$build/bin/quantc" compile "$m" --target cuda "${cuda[@]}" -o "$out/small_cuda"
  "$build/bin/quantc" compile "$m" -o "$tmp/small_cpu"
  "$build/bin/qc-run" "$tmp/small_cpu" --perplexity "$shared/data/brown-eval.txt" \
    2>/dev/null > "$out/ref/small_bpb.txt"
  "$build/bin/qc-run" "$tmp/small_cpu" --generate "The " -n 24 | head -2 > "$out/ref/small_gen.txt"
  du -sh "$out"
  exit 0
fi
model=$shared/models/tinyllama/model.onnx
"$build/bin/quantc" compile "$model" --target cuda "${cuda[@]}" -o "$out/tiny_cuda"
"$build/bin/quantc" compile "$model" -o "$tmp/tiny_cpu"
"$build/bin/qc-run" "$tmp/tiny_cpu" --input input_ids="$out/ref/ids.npy" -o "$out/ref/tiny"
"$build/bin/qc-run" "$tmp/tiny_cpu" --perplexity "$shared/data/brown-eval.txt" \
  | tee "$out/ref/tiny_bpb.txt"
kv=$shared/models/tinyllama/model_kv.onnx
"$build/bin/quantc" compile "$kv" --target cuda "${cuda[@]}" -o "$out/tinykv_cuda"
"$build/bin/quantc" compile "$kv" -o "$tmp/tinykv_cpu"
"$build/bin/qc-run" "$tmp/tinykv_cpu" --generate "The " -n 24 | head -2 > "$out/ref/tinykv_generate.txt"
"$build/bin/qc-run" "$tmp/tinykv_cpu" --perplexity "$shared/data/brown-eval.txt" \
  --stepwise --windows 8 2>/dev/null > "$out/ref/tinykv_stepwise_bpb.txt"
# 4-bit weights (RTN, groups of 128) through the same generic lowering.
for m in tinyllama/model.onnx smallllama/model_kv.onnx; do
  name=$(dirname "$m")_w4
  "$build/bin/quantc" compile "$shared/models/$m" --wbits 4 --target cuda "${cuda[@]}" -o "$out/${name}_cuda"
  "$build/bin/quantc" compile "$shared/models/$m" --wbits 4 -o "$tmp/${name}_cpu"
  "$build/bin/qc-run" "$tmp/${name}_cpu" --perplexity "$shared/data/brown-eval.txt" \
    2>/dev/null > "$out/ref/${name}_bpb.txt"
done
# The zoo: models without a cache against ONNX Runtime there; decoders with
# one by bits per byte (whole windows and token by token) against the CPU.
mkdir -p "$out/zoo"
for m in "$root"/test/Zoo/Inputs/*.onnx; do
  name=$(basename "$m" .onnx)
  "$build/bin/quantc" compile "$m" --target cuda "${cuda[@]}" -o "$out/zoo/${name}_cuda" 2>/dev/null
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
