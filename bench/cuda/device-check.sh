#!/usr/bin/env bash
# Runs on the GPU machine from the carried .device/ folder (see prepare.sh):
# CUDA artifacts against the CPU reference outputs computed beforehand.
#   cd .device && bash device-check.sh [models|zoo|sanitize|all]
#   cd .device-small && bash device-check.sh small
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

case $what in
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
