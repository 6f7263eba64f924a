#!/usr/bin/env bash
# The tests that call plangrad from several threads, under ThreadSanitizer, in build-tsan/:
# the Predictor from 8 threads (one shared Predictor, and Predictors sharing one Model),
# the kernels' thread pool (tests/test_threads.cpp, the ops' thread splits). Any report
# fails the run (halt_on_error), and so does a failed test.
#   scripts/test_tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-tsan
flags="-fsanitize=thread -fno-omit-frame-pointer"
# The tests' CMake wants the program and the examples configured; only the two test
# programs are built.
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread \
  -DPLANGRAD_BUILD_BENCHMARKS=OFF -DPLANGRAD_INSTALL=OFF >/dev/null
cmake --build "$dir" -j2 --target plangrad_tests plangrad_op_tests
# One BLAS thread, as in CI (OpenBLAS is not instrumented): the threads under test are the
# callers' and the kernels' pool's (kernels/parallel.cpp).
export OPENBLAS_NUM_THREADS=1
# The first report ends the run with TSan's exit code, 66. Not abort_on_error: its SIGABRT
# goes to Catch2's signal handlers, and the run hangs instead of ending. A deadlock fails
# after the timeout.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
timeout 900 "$dir/tests/plangrad_tests" "[predictor],[threads]"
timeout 900 "$dir/tests/op_tests" "[threads]"
