#!/usr/bin/env bash
# Configures (once) and builds the hostile-input build in build-sanitize/:
# clang 22, AddressSanitizer + UndefinedBehaviorSanitizer on quantc's own
# code, and the libFuzzer targets (QUANTC_FUZZ). Needs scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build-sanitize/build.ninja ]; then
  cmake -G Ninja -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DQUANTC_FUZZ=ON
fi
ninja -C build-sanitize
