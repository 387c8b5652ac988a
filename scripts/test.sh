#!/usr/bin/env bash
# Sets up, builds and runs every test: lit (IR and end-to-end) and the unit
# tests (ctest), then the sanitizer job (scripts/sanitize.sh). Each prints its summary; the exit status is non-zero if any
# test failed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
status=0
echo "== lit tests"
/usr/lib/llvm-22/bin/lit -sv build/test || status=1
echo "== unit tests"
ctest --test-dir build --output-on-failure || status=1
echo "== sanitizer job (ASan + UBSan build, hostile-input tests, fuzz smoke)"
scripts/sanitize.sh || status=1
exit $status
