#!/bin/sh
# Fuzzes the JSON model loader for SECONDS (default 60) with libFuzzer + ASan + UBSan.
#   scripts/fuzz.sh [SECONDS]
# Configures its own build (build-fuzz, clang++), works on a copy of tests/fuzz/corpus in a
# temporary directory (the repository is never written, apart from build-fuzz), and exits
# non-zero when the fuzzer finds a crash; the crashing input is kept and its path printed.
set -eu
seconds=${1:-60}
case $seconds in ''|*[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PLANGRAD_FUZZ_BUILD:-$root/build-fuzz}
jobs=${JOBS:-2}

cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPLANGRAD_NATIVE=OFF -DPLANGRAD_SANITIZE=ON -DPLANGRAD_FUZZ=ON >/dev/null
cmake --build "$build" --target fuzz_load_model -j "$jobs"

work=$(mktemp -d "${TMPDIR:-/tmp}/plangrad-fuzz-XXXXXX")
cp -R "$root/tests/fuzz/corpus" "$work/corpus"
mkdir "$work/artifacts"
echo "fuzzing for ${seconds}s in $work"
status=0
"$build/tests/fuzz_load_model" "$work/corpus" -max_total_time="$seconds" -max_len=16384 \
  -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/" -print_final_stats=1 || status=$?
if [ "$status" -ne 0 ]; then
  echo "fuzz_load_model failed (exit $status); inputs kept in $work/artifacts" >&2
  exit "$status"
fi
rm -rf "$work"
echo "no crash in ${seconds}s"
