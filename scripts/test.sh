#!/usr/bin/env bash
# README command 2: set up, build, and run the whole test suite through ctest.
#   scripts/test.sh              optimized build in build/
#   scripts/test.sh --sanitize   the same suite under ASan + UBSan in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --data --onnx --mpi
dir=build
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
bash scripts/build.sh "$@"
cd "$dir"
ctest --output-on-failure -j2
