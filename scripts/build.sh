#!/usr/bin/env bash
# Configures and builds plangrad into a build directory.
#   scripts/build.sh [--sanitize] [target...]
# Release build in build/; with --sanitize, AddressSanitizer + UndefinedBehaviorSanitizer
# in build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build
cmake_args=(-DCMAKE_BUILD_TYPE=Release)
if [ "${1:-}" = "--sanitize" ]; then
  shift
  dir=build-asan
  cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DPLANGRAD_SANITIZE=ON)
fi
cmake -S . -B "$dir" "${cmake_args[@]}" >/dev/null
if [ $# -gt 0 ]; then
  targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  cmake --build "$dir" -j2 "${targets[@]}"
else
  cmake --build "$dir" -j2
fi
