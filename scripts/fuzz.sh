#!/bin/sh
# Fuzzes plangrad's readers with libFuzzer + ASan + UBSan, SECONDS (default 60) per target:
#   fuzz_model  a model file: loaded, written back, planned, run one inference and one
#               training step (tests/fuzz/fuzz_model.cpp, dictionary tests/fuzz/model.dict)
#   fuzz_idx    an IDX data file, plain or gzipped (tests/fuzz/fuzz_idx.cpp)
#   fuzz_onnx   an ONNX file: imported, planned, run one inference and (with a loss) one
#               training step (tests/fuzz/fuzz_onnx.cpp; built when plangrad has ONNX)
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Configures its own build (build-fuzz, clang++), works on copies of the seed corpora in a
# temporary directory (the repository is never written, apart from build-fuzz), and exits
# non-zero when a fuzzer finds a crash; the crashing input is kept and its path printed.
set -eu
seconds=${1:-60}
case $seconds in ''|*[!0-9]*) echo "usage: $0 [seconds] [fuzz_model|fuzz_idx|fuzz_onnx ...]" >&2; exit 2;; esac
[ $# -gt 0 ] && shift
targets=${*:-fuzz_model fuzz_idx fuzz_onnx}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PLANGRAD_FUZZ_BUILD:-$root/build-fuzz}
jobs=${JOBS:-2}

cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPLANGRAD_NATIVE=OFF -DPLANGRAD_SANITIZE=ON -DPLANGRAD_FUZZ=ON >/dev/null
for t in $targets; do
  case $t in fuzz_model|fuzz_idx|fuzz_onnx) ;; *) echo "fuzz.sh: unknown target '$t'" >&2; exit 2;; esac
  cmake --build "$build" --target "plangrad_$t" -j "$jobs"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/plangrad-fuzz-XXXXXX")
status=0
for t in $targets; do
  corpus=$root/tests/fuzz/model_corpus
  extra=-dict="$root/tests/fuzz/model.dict"
  if [ "$t" = fuzz_idx ]; then corpus=$root/tests/fuzz/idx_corpus; extra=; fi
  if [ "$t" = fuzz_onnx ]; then corpus=$root/tests/fuzz/onnx_corpus; extra=; fi
  cp -R "$corpus" "$work/$t-corpus"
  mkdir -p "$work/$t-artifacts"
  echo "== $t for ${seconds}s in $work"
  # shellcheck disable=SC2086
  "$build/tests/$t" "$work/$t-corpus" $extra -max_total_time="$seconds" -max_len=16384 \
    -rss_limit_mb=2048 -timeout=30 -artifact_prefix="$work/$t-artifacts/" -print_final_stats=1 ||
    { status=$?; echo "$t failed (exit $status); inputs kept in $work/$t-artifacts" >&2; }
done
[ "$status" -eq 0 ] || exit "$status"
rm -rf "$work"
echo "no crash in ${seconds}s per target ($targets)"
