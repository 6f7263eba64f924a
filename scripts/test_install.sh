#!/usr/bin/env bash
# plangrad as other projects take it in; CI runs this after the test suite.
#   scripts/test_install.sh [BUILD]   (BUILD: a configured, built tree; default build/)
# 1. `cmake --install` of BUILD (the static library) into a temporary prefix; the consumer
#    project (tests/consumer) built against it with find_package, and run;
# 2. the same consumer built with pkg-config alone (g++ $(pkg-config ...)), and run;
# 3. a shared-library build (BUILD_SHARED_LIBS=ON), installed: its SONAME, its exports
#    (plangrad's public API only), and the consumer against it, run;
# 4. a project taking plangrad in with add_subdirectory (tests/consumer_subdir): its own
#    object compiled without plangrad's flags, none of plangrad's tests or examples built;
# 5. docs/tutorial.md's project, its two files cut out of the page, built against the
#    static installation and run, then against the shared one;
# 6. plangrad::onnx (tests/consumer_onnx: save_onnx, load_onnx) against the static and the
#    shared installation; the shared libplangrad_onnx exports plangrad's symbols only.
# 7. plangrad::mpi (tests/consumer_mpi: data-parallel fit over MpiCommunicator) against the
#    static and the shared installation, run on 2 ranks with mpirun.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${1:-build}
# Canonical (no symlinks, no doubled slashes: TMPDIR may end in '/'), since the shared
# library check below compares the path the dynamic loader resolves with this one.
work=$(cd "$(mktemp -d "${TMPDIR:-/tmp}/plangrad-install-XXXXXX")" && pwd -P)
trap 'rm -rf "$work"' EXIT
jobs=${JOBS:-2}
fail() { echo "test_install: $*" >&2; exit 1; }

echo "== 1. static library, find_package"
cmake --install "$build" --prefix "$work/static" >/dev/null
cmake -S tests/consumer -B "$work/c-static" -DCMAKE_PREFIX_PATH="$work/static" >/dev/null
cmake --build "$work/c-static" -j "$jobs" >/dev/null
"$work/c-static/consumer" "$work/static-model.json" | tee "$work/out"
grep -q "consumer ok" "$work/out" || fail "the find_package consumer did not run"
[ -x "$work/static/bin/plangrad" ] || fail "the plangrad program was not installed"
"$work/static/bin/plangrad" help >/dev/null

echo "== 2. static library, pkg-config"
export PKG_CONFIG_PATH="$work/static/lib/pkgconfig"
pkg-config --exists plangrad || fail "pkg-config does not find plangrad.pc"
# shellcheck disable=SC2046
g++ -O1 tests/consumer/main.cpp -o "$work/c-pkg" $(pkg-config --cflags --libs --static plangrad)
"$work/c-pkg" "$work/pkg-model.json" | grep "consumer ok" >/dev/null || fail "the pkg-config consumer did not run"

echo "== 3. shared library"
cmake -S . -B "$work/b-shared" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DPLANGRAD_BUILD_TESTS=OFF \
  -DPLANGRAD_BUILD_EXAMPLES=OFF -DPLANGRAD_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$work/b-shared" -j "$jobs" >/dev/null
cmake --install "$work/b-shared" --prefix "$work/shared" >/dev/null
lib=$(ls "$work"/shared/lib/libplangrad.so.*.*.* | head -1)
soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
echo "SONAME $soname"
case "$soname" in libplangrad.so.0.2) ;; *) fail "unexpected SONAME '$soname'";; esac
foreign=$(nm -D --defined-only "$lib" | awk '{print $3}' | c++filt | grep -v 'plangrad::' | grep -v '^$' || true)
[ -z "$foreign" ] || fail "the shared library exports more than plangrad's symbols: $(echo "$foreign" | head -5)"
# ... and of those only the public API (core/visibility.hpp): what plangrad.hpp declares is
# there, the internals (a GEMM kernel, the JSON reader, the flag parser) are not.
exports=$(nm -D --defined-only "$lib" | awk '{print $3}' | c++filt)
for public in 'plangrad::make_plan(' 'plangrad::GraphBuilder::build(' 'plangrad::load_model(' \
              'plangrad::Predictor::predict(' 'typeinfo for plangrad::ShapeError' 'plangrad::make_circle('; do
  grep -F "$public" >/dev/null <<<"$exports" || fail "the shared library does not export $public"
done
for internal in 'plangrad::small_sgemm' 'plangrad::JsonReader' 'plangrad::Flags'; do
  if grep -F "$internal" >/dev/null <<<"$exports"; then fail "the shared library exports the internal $internal"; fi
done
echo "exports: $(wc -l <<<"$exports") symbols, all plangrad::, none of its internals"
cmake -S tests/consumer -B "$work/c-shared" -DCMAKE_PREFIX_PATH="$work/shared" >/dev/null
cmake --build "$work/c-shared" -j "$jobs" >/dev/null
loaded=$(ldd "$work/c-shared/consumer" | awk '$1 ~ /^libplangrad\.so/ { print $3 }')
[ -n "$loaded" ] && [ "$loaded" -ef "$lib" ] ||
  fail "the consumer does not load the installed shared library: $(ldd "$work/c-shared/consumer" | grep plangrad || echo 'no libplangrad')"
"$work/c-shared/consumer" "$work/shared-model.json" | grep "consumer ok" >/dev/null || fail "the shared-library consumer did not run"

echo "== 4. add_subdirectory"
cmake -S tests/consumer_subdir -B "$work/c-subdir" -DPLANGRAD_SOURCE="$root" >/dev/null
entry=$(grep '"command"' "$work/c-subdir/compile_commands.json" | grep 'consumer/main.cpp' || true)
[ -n "$entry" ] || fail "no compile command for the consumer's main.cpp"
for flag in -march=native -Wall -Wextra -Wpedantic -fsanitize; do
  case "$entry" in *"$flag"*) fail "plangrad's $flag reached the consumer's target: $entry";; esac
done
if cmake --build "$work/c-subdir" --target help | grep 'plangrad_circle\|plangrad_.*tests\|plangrad_bench' >/dev/null; then
  fail "a sub-project build has plangrad's examples, tests or benchmarks"
fi
cmake --build "$work/c-subdir" -j "$jobs" >/dev/null
"$work/c-subdir/consumer" "$work/subdir-model.json" | grep "consumer ok" >/dev/null || fail "the add_subdirectory consumer did not run"
echo "== 5. docs/tutorial.md"
mkdir -p "$work/tutorial"
extract() { sed -n "/<!-- tutorial:$1:begin -->/,/<!-- tutorial:$1:end -->/p" docs/tutorial.md | sed '1,2d;$d' | sed '$d'; }
extract cmake > "$work/tutorial/CMakeLists.txt"
extract main > "$work/tutorial/main.cpp"
[ -s "$work/tutorial/CMakeLists.txt" ] && [ -s "$work/tutorial/main.cpp" ] || fail "the tutorial's files are not marked in docs/tutorial.md"
cmake -S "$work/tutorial" -B "$work/tutorial/build" -DCMAKE_PREFIX_PATH="$work/static" >/dev/null
cmake --build "$work/tutorial/build" >/dev/null
(cd "$work/tutorial/build" && ./circle_app) | tee "$work/tutorial.out"
grep -q "^test accuracy 0\.97" "$work/tutorial.out" || fail "the tutorial's model did not reach the accuracy the page states"
grep -q "^centre 1, corner 0, edge 0$" "$work/tutorial.out" || fail "the tutorial's predictions are not what the page states"
[ -s "$work/tutorial/build/circle.json" ] || fail "the tutorial did not save its model"
# The same project against the shared library: everything the tutorial calls is exported.
cmake -S "$work/tutorial" -B "$work/tutorial/build-shared" -DCMAKE_PREFIX_PATH="$work/shared" >/dev/null
cmake --build "$work/tutorial/build-shared" >/dev/null
(cd "$work/tutorial/build-shared" && ./circle_app) >"$work/tutorial-shared.out"
cmp -s "$work/tutorial.out" "$work/tutorial-shared.out" || fail "the tutorial prints other figures with the shared library"

echo "== 6. plangrad::onnx"
[ -f "$work/static/include/plangrad/onnx/onnx.hpp" ] ||
  fail "plangrad::onnx is not installed (configure with protobuf and ONNX: bash scripts/setup.sh --onnx)"
for kind in static shared; do
  cmake -S tests/consumer_onnx -B "$work/onnx-$kind" -DCMAKE_PREFIX_PATH="$work/$kind" >/dev/null
  cmake --build "$work/onnx-$kind" -j "$jobs" >/dev/null
  "$work/onnx-$kind/consumer_onnx" "$work/$kind.onnx" | grep "consumer_onnx ok" >/dev/null ||
    fail "the $kind plangrad::onnx consumer did not run"
done
onnx_lib=$(ls "$work"/shared/lib/libplangrad_onnx.so.*.*.* | head -1)
foreign=$(nm -D --defined-only "$onnx_lib" | awk '{print $3}' | c++filt | grep -v 'plangrad::' | grep -v '^$' || true)
[ -z "$foreign" ] || fail "libplangrad_onnx exports more than plangrad's symbols: $(echo "$foreign" | head -5)"
loaded=$(ldd "$work/onnx-shared/consumer_onnx" | awk '$1 ~ /^libplangrad_onnx\.so/ { print $3 }')
[ -n "$loaded" ] && [ "$loaded" -ef "$onnx_lib" ] || fail "consumer_onnx does not load the installed libplangrad_onnx"
echo "== 7. plangrad::mpi"
[ -f "$work/static/include/plangrad/distributed/mpi_communicator.hpp" ] ||
  fail "plangrad::mpi is not installed (configure with MPI: bash scripts/setup.sh --mpi)"
root_flag=""
[ "$(id -u)" = 0 ] && root_flag="--allow-run-as-root"
for kind in static shared; do
  cmake -S tests/consumer_mpi -B "$work/mpi-$kind" -DCMAKE_PREFIX_PATH="$work/$kind" >/dev/null
  cmake --build "$work/mpi-$kind" -j "$jobs" >/dev/null
  # shellcheck disable=SC2086
  timeout 120 mpirun $root_flag --oversubscribe --bind-to none -np 2 "$work/mpi-$kind/consumer_mpi" |
    tee "$work/mpi-$kind.out"
  grep -q "consumer_mpi ok: 2 ranks" "$work/mpi-$kind.out" || fail "the $kind plangrad::mpi consumer did not run"
done
echo "test_install: all seven ways work"
