#!/usr/bin/env bash
# The default build runs on CPUs without AVX-512 and without AVX: this machine's binaries
# under qemu-x86_64 (Debian's qemu-user, `scripts/setup.sh --emulator`) emulating
#   Haswell  (AVX2 + FMA, no AVX-512): the process must pick the avx2 path;
#   Nehalem  (SSE4.2, no AVX):         the process must pick the generic path.
# qemu stops an instruction the emulated CPU lacks (SIGILL). On each: `plangrad --version`,
# the test programs (op_tests, plangrad_tests), tests/isa_bits.cpp's
# training runs and a short run of the circle example, whose bits must be this machine's
# own on the same path (PLANGRAD_ISA set).
#   scripts/test_emulated.sh [BUILD_DIR]      (default build/, as scripts/build.sh makes it)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
command -v qemu-x86_64 >/dev/null ||
  { echo "test_emulated.sh: no qemu-x86_64; install it with scripts/setup.sh --emulator" >&2; exit 1; }
programs=(tests/op_tests tests/plangrad_tests)
for bin in plangrad circle tests/isa_bits "${programs[@]}"; do
  [ -x "$build/$bin" ] || { echo "test_emulated.sh: $build/$bin is missing; build first (scripts/build.sh)" >&2; exit 1; }
done
export OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# qemu warns about CPU model features its emulator lacks (TSX, PCID, ...), none of which
# user-mode code uses. OpenBLAS's own CPU detection takes qemu's Nehalem for a Haswell and
# then crashes in its Haswell kernels: its kernels are named here (OPENBLAS_CORETYPE).
emulate() {
  local cpu=$1
  shift
  OPENBLAS_CORETYPE=$cpu qemu-x86_64 -cpu "$cpu" "$@" 2> >(grep -v "TCG doesn't support requested feature" >&2)
}
# The same output here and emulated, but for the timing fields.
same_output() {
  sed 's/"train_seconds":[0-9.e-]*,//' "$1" > "$1.cmp"
  sed 's/"train_seconds":[0-9.e-]*,//' "$2" > "$2.cmp"
  diff "$1.cmp" "$2.cmp"
}

start=$(date +%s)
for spec in Haswell:avx2 Nehalem:generic; do
  cpu=${spec%%:*} path=${spec#*:}
  echo "== qemu-x86_64 -cpu $cpu: expecting the $path path"
  version=$(emulate "$cpu" "$build/plangrad" --version)
  echo "$version"
  [[ $version == *"(kernels: $path)" ]] || { echo "FAIL: expected kernels: $path" >&2; exit 1; }
  for bin in "${programs[@]}"; do
    t0=$(date +%s)
    if ! (cd "$build/tests" && emulate "$cpu" "../$bin") > "$work/log" 2>&1; then
      cat "$work/log"
      echo "FAIL: $bin under $cpu" >&2
      exit 1
    fi
    echo "$bin: $(grep -E '^(All tests passed|test cases)' "$work/log" | tail -1) ($(( $(date +%s) - t0 )) s)"
  done
  for run in "tests/isa_bits" "circle --epochs 25"; do
    emulate "$cpu" "$build/"$run > "$work/emulated.txt"
    PLANGRAD_ISA=$path "$build/"$run > "$work/native.txt"
    if ! same_output "$work/native.txt" "$work/emulated.txt"; then
      echo "FAIL: $run: the $path path's bits under $cpu differ from this machine's (<: here, >: emulated)" >&2
      exit 1
    fi
    echo "$run: the same bits as PLANGRAD_ISA=$path here: $(tail -1 "$work/emulated.txt")"
  done
done
echo "== emulated runs done in $(( $(date +%s) - start )) s"
