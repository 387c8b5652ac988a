#!/usr/bin/env bash
# The sanitizer job: builds build-sanitize/ (ASan + UBSan) and runs, under
# the sanitizers, the unit tests, the runtime's C programs and the lit tests
# that exercise hostile input (importer errors, artifact and runtime
# checks, tensor files, run-time bounds checks), then every fuzz target for
# a few seconds. Any sanitizer report fails the job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-sanitize.sh
# LLVM/MLIR keep some global state alive to exit: leaks are not reported.
# allow_user_poisoning=0: LLVM's BumpPtrAllocator (inline, so instrumented
# in quantc's code) poisons each new slab of MLIR's attribute storage, and
# the uninstrumented libMLIR then carves its own attributes from that slab
# without unpoisoning them: false use-after-poison reports, not bugs.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allow_user_segv_handler=1:allow_user_poisoning=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
echo "== sanitizers: unit tests"
ctest --test-dir build-sanitize --output-on-failure || status=1
echo "== sanitizers: lit subset"
/usr/lib/llvm-22/bin/lit -sv \
  build-sanitize/test/Dialect \
  build-sanitize/test/Frontend/Onnx/errors.onnxtxt \
  build-sanitize/test/Frontend/Onnx/binary-errors.test \
  build-sanitize/test/Frontend/Onnx/hostile.test \
  build-sanitize/test/Frontend/Onnx/external-data.test \
  build-sanitize/test/Frontend/Onnx/shapes.onnxtxt \
  build-sanitize/test/Runtime/artifact.test \
  build-sanitize/test/Runtime/artifact-errors.test \
  build-sanitize/test/Runtime/cuda-artifact-errors.test \
  build-sanitize/test/Runtime/qc-run.test \
  build-sanitize/test/Target/GPU \
  build-sanitize/test/Target/CPU/w8a8.test \
  build-sanitize/test/Target/CPU/qdq.test \
  build-sanitize/test/Frontend/Onnx/qdq.onnxtxt \
  build-sanitize/test/Conversion/QcToLinalg/activation-quantization.mlir \
  build-sanitize/test/Target/CUDA/qmatmul.mlir \
  build-sanitize/test/Target/CUDA/qmatmul-errors.mlir \
  build-sanitize/test/Target/CUDA/gpu-formats.mlir \
  build-sanitize/test/Runtime/session.test \
  build-sanitize/test/Runtime/quantc-errors.test \
  build-sanitize/test/E2E/bounds.test \
  build-sanitize/test/E2E/npy.test \
  build-sanitize/test/E2E/quant-run-errors.test \
  build-sanitize/test/Transforms/quantize-weights-errors.test || status=1
echo "== sanitizers: fuzz targets, 10 s each"
scripts/fuzz.sh 10 || status=1
exit $status
