#!/usr/bin/env bash
# The default build runs on CPUs without AVX-512 and without AVX: this machine's binaries
# under qemu-x86_64 (Debian's qemu-user, `scripts/setup.sh --emulator`) emulating
#   Haswell  (AVX2 + FMA, no AVX-512): the process must pick the avx2 path;
#   Nehalem  (SSE4.2, no AVX):         the process must pick the generic path.
# On each: `plangrad --version`, the op tests, tests/isa_bits.cpp's training runs (whose
# bits must be this machine's own on the same path, PLANGRAD_ISA set), and a short run of
# the circle example.
#   scripts/test_emulated.sh [BUILD_DIR]      (default build/, as scripts/build.sh makes it)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
command -v qemu-x86_64 >/dev/null ||
  { echo "test_emulated.sh: no qemu-x86_64; install it with scripts/setup.sh --emulator" >&2; exit 1; }
for bin in plangrad circle tests/op_tests tests/isa_bits; do
  [ -x "$build/$bin" ] || { echo "test_emulated.sh: $build/$bin is missing; build first (scripts/build.sh)" >&2; exit 1; }
done
export OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# qemu warns about CPU model features its emulator lacks (TSX, PCID, ...), none of which
# user-mode code uses.
emulate() {
  local cpu=$1
  shift
  qemu-x86_64 -cpu "$cpu" "$@" 2> >(grep -v "TCG doesn't support requested feature" >&2)
}

start=$(date +%s)
for spec in Haswell:avx2 Nehalem:generic; do
  cpu=${spec%%:*} path=${spec#*:}
  echo "== qemu-x86_64 -cpu $cpu: expecting the $path path"
  version=$(emulate "$cpu" "$build/plangrad" --version)
  echo "$version"
  [[ $version == *"(kernels: $path)" ]] || { echo "FAIL: expected kernels: $path" >&2; exit 1; }
  t0=$(date +%s)
  emulate "$cpu" "$build/tests/op_tests"
  echo "op_tests under $cpu: $(( $(date +%s) - t0 )) s"
  emulate "$cpu" "$build/tests/isa_bits" > "$work/emulated.txt"
  PLANGRAD_ISA=$path "$build/tests/isa_bits" > "$work/native.txt"
  if ! diff "$work/native.txt" "$work/emulated.txt"; then
    echo "FAIL: the $path path's bits under $cpu differ from this machine's (above: < here, > emulated)" >&2
    exit 1
  fi
  echo "isa_bits under $cpu: the same bits as PLANGRAD_ISA=$path here ($(( $(wc -l < "$work/native.txt") - 1 )) runs)"
  emulate "$cpu" "$build/circle" --epochs 10 | tail -1
done
echo "== emulated runs done in $(( $(date +%s) - start )) s"
