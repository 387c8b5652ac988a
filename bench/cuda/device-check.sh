#!/usr/bin/env bash
# Runs on the GPU machine from the carried .device/ folder (see prepare.sh):
# CUDA artifacts against the CPU reference outputs computed beforehand.
#   cd .device && bash device-check.sh [models|zoo|sanitize|all]
#   cd .device-small && bash device-check.sh small
#   cd .device-kernels && bash device-check.sh kernels
#   cd .device-tiles && bash device-check.sh tiles
#   cd .device-kernels-zoo && bash device-check.sh kernels-zoo
#   cd .device-kernels-zoo-bench && bash device-check.sh kernels-zoo
set -uo pipefail
what=${1:-all}
export LD_LIBRARY_PATH=$PWD/lib

models() {
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
./bin/qc-run --backends
echo "== tinyllama fp32 logits, CUDA vs CPU"
./bin/qc-run tiny_cuda --input input_ids=ref/ids.npy -o out_tiny --timing --repeat 3
python3 - <<'PY'
import numpy as np
got = np.load("out_tiny/logits.npy").astype(np.float64)
ref = np.load("ref/tiny/logits.npy").astype(np.float64)
err = np.linalg.norm(got - ref) / np.linalg.norm(ref)
print(f"logits relative error {err:.3e} (max abs {np.abs(got - ref).max():.3e}); "
      f"{'PASS' if err <= 1e-4 and np.isfinite(got).all() else 'FAIL'} (tolerance 1e-4, f32)")
PY
echo "== out of device memory: 300000 tokens in one call (the attention scores alone need ~1.4 TB)"
python3 -c "import numpy as np; np.save('/tmp/long.npy', np.zeros((1, 300000), np.int64))"
./bin/qc-run tiny_cuda --input input_ids=/tmp/long.npy; echo "exit $?"
echo "== a device-side check (token id 300 of a 256-byte vocabulary)"
./bin/qc-run tiny_cuda --input input_ids=ref/badids.npy; echo "exit $?"
echo "== bits per byte (EVAL protocol), CUDA; CPU reference:"
cat ref/tiny_bpb.txt
./bin/qc-run tiny_cuda --perplexity brown-eval.txt 2>&1 | tail -1
echo "== decoder with a KV cache on the device: greedy generation, CPU reference first"
cat ref/tinykv_generate.txt
./bin/qc-run tinykv_cuda --generate "The " -n 24
./bin/qc-run tinykv_cuda --generate "The " -n 24 --no-cache | head -2
echo "== token-by-token bits per byte through the device cache (8 windows), CPU reference first"
cat ref/tinykv_stepwise_bpb.txt
./bin/qc-run tinykv_cuda --perplexity brown-eval.txt --stepwise --windows 8 2>/dev/null
echo "== 4-bit weights (RTN g128): bits per byte, CPU reference first"
for name in tinyllama_w4 smallllama_w4; do
  echo "$name: $(cat ref/${name}_bpb.txt)"
  ./bin/qc-run ${name}_cuda --perplexity brown-eval.txt 2>/dev/null
done
}

zoo() {
  echo "== the zoo on the GPU: models without a cache against ONNX Runtime"
  python3 zoo-check.py zoo
  echo "== the zoo's decoders: bits per byte (2 windows; whole, then token by token), CPU reference first"
  for a in zoo/*_kv_*_cuda; do
    name=$(basename "$a" _cuda)
    for mode in "" --stepwise; do
      printf '%s %s: cpu %s | cuda %s\n' "$name" "${mode:-whole}" \
        "$(cut -d' ' -f4 ref/${name}${mode}_bpb.txt)" \
        "$(./bin/qc-run "$a" --perplexity brown-eval.txt --windows 2 $mode 2>/dev/null | cut -d' ' -f4)"
    done
  done
}

sanitize() {
  echo "== compute-sanitizer memcheck: a call, a failed check, a session"
  export PATH=$PATH:/usr/local/cuda/bin
  compute-sanitizer --tool memcheck --leak-check full ./bin/qc-run tiny_cuda --input input_ids=ref/ids.npy 2>&1 | tail -3
  compute-sanitizer --tool memcheck ./bin/qc-run tiny_cuda --input input_ids=ref/badids.npy 2>&1 | tail -3
  compute-sanitizer --tool memcheck ./bin/qc-run tinykv_cuda --generate "The " -n 8 2>&1 | tail -3
}

small() {
  echo "== smallllama fp32 on the GPU: bits per byte, CPU reference first"
  cat ref/small_bpb.txt
  ./bin/qc-run small_cuda --perplexity brown-eval.txt 2>/dev/null
  echo "== greedy generation through the device cache, CPU reference first"
  cat ref/small_gen.txt
  ./bin/qc-run small_cuda --generate "The " -n 24
  ./bin/qc-run small_cuda --generate "The " -n 24 --no-cache | head -2
}

kernels_zoo() {
  echo "== the zoo's decoders with 4-bit weights (RTN g128): bits per byte (2 windows), CPU reference first"
  for a in zoo/*_w4_cuda; do
    name=$(basename "$a" _cuda)
    printf '%s: cpu %s | cuda %s\n' "$name" "$(cut -d' ' -f4 ref/${name}_bpb.txt)" \
      "$(./bin/qc-run "$a" --perplexity brown-eval.txt --windows 2 2>/dev/null | cut -d' ' -f4)"
  done
}

kernels() {
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  echo "== the fused dequantize-matmul kernels against float64 (numpy): every format, eight shapes"
  [ -d qf ] || tar xzf qf.tgz
  for d in qf/*; do
    tolerance=$(cat "$d/tolerance" 2>/dev/null || echo 1e-5)
    echo "K x N x rows = $(basename "$d") (tolerance $tolerance)"
    ./bin/qc-run "$d/cuda" --input x="$d/x.npy" --input x3="$d/x3.npy" -o "$d/gpu" > /dev/null
    python3 quantized_formats.py check "$d" gpu "$tolerance" > /tmp/check.txt
    grep -v "^ok" /tmp/check.txt
    echo "  largest error: $(grep -o 'contraction [0-9.e+-]*' /tmp/check.txt | sort -g -k2 | tail -1)"
  done
  echo "== large |x| (4000 times the values: the one-row kernel's f16 chains' range), 4128 x 13 x 1"
  big=/tmp/bigx && rm -rf $big && cp -r qf/4128x13x1 $big
  python3 -c "
import numpy as np
for n in ('x', 'x3'):
    np.save('$big/%s.npy' % n, (np.load('$big/%s.npy' % n) * 4000).astype(np.float32))"
  ./bin/qc-run $big/cuda --input x=$big/x.npy --input x3=$big/x3.npy -o $big/gpu > /dev/null
  python3 quantized_formats.py check $big gpu 1e-5,int4=2e-3 | grep -v "^ok"
  echo "== more rows than the grid's height (65535 blocks of 8): 530000 rows of K x N = 100 x 24"
  big=/tmp/big && rm -rf $big && mkdir -p $big && cp -r qf/100x24x5/{reference,bias.npy,x3.npy} qf/100x24x5/w*.npy $big/
  python3 -c "import numpy as np; np.save('$big/x.npy', np.random.default_rng(1).standard_normal((530000, 100)).astype(np.float32))"
  ./bin/qc-run qf/100x24x5/cuda --input x=$big/x.npy --input x3=$big/x3.npy -o $big/gpu > /dev/null
  python3 quantized_formats.py check $big gpu | grep -v "^ok"
  echo "== 4-bit shared models (RTN g128) on the GPU: bits per byte and generation, CPU reference first"
  for name in tinyllama_w4 smallllama_w4; do
    echo "$name: $(cat ref/${name}_bpb.txt)"
    ./bin/qc-run ${name}_cuda --perplexity brown-eval.txt 2>/dev/null
    cat ref/${name}_gen.txt
    ./bin/qc-run ${name}_cuda --generate "The " -n 24
    ./bin/qc-run ${name}_cuda --generate "The " -n 128 --timing 2>&1 | grep -i "tok"
  done
  echo "== one layer: kernel time (Nsight Compute, caches flushed before each kernel), then the peers"
  export PATH=$PATH:/usr/local/cuda/bin
  for a in layers/*/; do
    a=${a%/}
    [ -f "$a/weights.bin" ] || gunzip "$a/weights.bin.gz"
    k=${a##*x}
    for rows in 1 16 128 512; do
      python3 -c "import numpy as np; np.save('/tmp/x.npy', np.random.default_rng(0).standard_normal(($rows, $k)).astype(np.float32))"
      ncu --clock-control none --metrics gpu__time_duration.sum,dram__bytes_read.sum --csv \
        ./bin/qc-run "$a" --input x=/tmp/x.npy --repeat 3 2>/dev/null > /tmp/ncu.csv || true
      python3 - "$a" "$rows" <<'PY'
import csv, sys, collections
rows = [r for r in csv.reader(open("/tmp/ncu.csv")) if len(r) > 10]
head, rows = rows[0], rows[1:]
name, metric, value = head.index("Kernel Name"), head.index("Metric Name"), head.index("Metric Value")
per = collections.defaultdict(list)
for r in rows:
    per[(r[name], r[metric])].append(float(r[value].replace(",", "")))
kernels = sorted({k for k, _ in per})
for k in kernels:
    t = sorted(per[(k, "gpu__time_duration.sum")])
    b = per.get((k, "dram__bytes_read.sum"), [0])
    print(f"{sys.argv[1]:>26} rows {sys.argv[2]:>4} {k:>14}: {t[len(t)//2]/1e3:9.1f} us "
          f"({len(t)} launches, {b[0]/max(t[len(t)//2],1):.0f} GB/s read)")
PY
    done
  done
  python3 peers.py
}

# The tensor-core kernel's tiles, default against chosen by bits and rows
# (prepare.sh tiles): kernel time per call (Nsight Compute: the call's
# kernels summed, median of 3 calls) at 16 to 512 rows, then the peers.
tiles() {
  nvidia-smi --query-gpu=name --format=csv,noheader
  export PATH=$PATH:/usr/local/cuda/bin
  for a in layers-*/*/; do [ -f "$a/weights.bin" ] || gunzip "$a/weights.bin.gz"; done
  for layer in layers-default/*/; do
    layer=$(basename "$layer")
    k=${layer##*x}
    for rows in 16 32 64 128 512; do
      python3 -c "import numpy as np; np.save('/tmp/x.npy', np.random.default_rng(0).standard_normal(($rows, $k)).astype(np.float32))"
      line="$layer rows $rows:"
      for variant in default auto; do
        ncu --clock-control none --metrics gpu__time_duration.sum --csv \
          ./bin/qc-run layers-$variant/$layer --input x=/tmp/x.npy --repeat 3 2>/dev/null > /tmp/ncu.csv || true
        line="$line $variant $(python3 - <<'PY'
import csv
rows = [r for r in csv.reader(open("/tmp/ncu.csv")) if len(r) > 10]
head, rows = rows[0], rows[1:]
m, v = head.index("Metric Name"), head.index("Metric Value")
t = [float(r[v].replace(",", "")) for r in rows if r[m] == "gpu__time_duration.sum"]
per = max(len(t) // 3, 1)
calls = sorted(sum(t[i * per:(i + 1) * per]) for i in range(len(t) // per))
print(f"{calls[len(calls) // 2] / 1e3:.1f} us")
PY
)"
      done
      echo "$line"
    done
  done
  python3 peers.py --batches 16,32,64,128,512
}

case $what in
kernels) kernels ;;
tiles) tiles ;;
kernels-zoo) kernels_zoo ;;
oom)
  python3 -c "import numpy as np; np.save('/tmp/long.npy', np.zeros((1, 300000), np.int64))"
  ./bin/qc-run tiny_cuda --input input_ids=/tmp/long.npy; echo "exit $?"
  ./bin/qc-run tiny_cuda --input input_ids=ref/ids.npy | tail -1 ;;
small) small ;;
models) models ;;
zoo) zoo ;;
sanitize) sanitize ;;
all) models; zoo; sanitize ;;
esac
