#!/usr/bin/env bash
# Runs the libFuzzer targets of build-sanitize/ (scripts/build-sanitize.sh),
# each for SECONDS (default 60), on a corpus kept in build-sanitize/corpus/
# (seeded from test/fuzz/corpus/ and the importer's test inputs, so a
# campaign grows it run after run). Inputs that crash are written to
# build-sanitize/findings/TARGET/; the exit status is non-zero if any did.
# With FUZZ_KEEP_GOING=1 (campaigns) a target goes on after a crash (libFuzzer's
# fork mode), collecting every finding.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(OnnxImportFuzzer ArtifactLoadFuzzer TensorFileFuzzer)
[ -x build-sanitize/bin/OnnxImportFuzzer ] || scripts/build-sanitize.sh
/usr/bin/python3 test/fuzz/make_seeds.py build-sanitize/corpus
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
status=0
for t in "${targets[@]}"; do
  mkdir -p "build-sanitize/findings/$t"
  echo "== fuzz $t for ${seconds} s"
  # -rss_limit_mb: the importer may build large IR for large declared
  # shapes; a clean refusal must stay within this.
  keep_going=()
  [ "${FUZZ_KEEP_GOING:-0}" = 1 ] &&
    keep_going=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  build-sanitize/bin/"$t" -max_total_time="$seconds" -timeout=20 \
      -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 "${keep_going[@]}" \
      -artifact_prefix="build-sanitize/findings/$t/" \
      "build-sanitize/corpus/$t" 2> "build-sanitize/findings/$t.log" || true
  # crash-, leak-, timeout-, oom- files fail; slow-unit- files are noted.
  if ls "build-sanitize/findings/$t" | grep -qv '^slow-unit-'; then
    status=1
    echo "fuzz: $t found inputs that fail: build-sanitize/findings/$t/"
    grep -E "ERROR|SUMMARY" "build-sanitize/findings/$t.log" | sort | uniq -c | head -20
  fi
  if ! grep -E "stat::number_of_executed_units|stat::new_units_added|Done [0-9]+ runs|INFO: exiting|crash: [0-9]+ time" \
      "build-sanitize/findings/$t.log"; then
    status=1
    echo "fuzz: $t did not run:"
    tail -20 "build-sanitize/findings/$t.log"
  fi
done
exit $status
