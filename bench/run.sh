#!/usr/bin/env bash
# The side-by-side benchmark: plangrad (bench/workloads.cpp) against PyTorch
# (bench/torch_workloads.py), LibTorch C++ (bench/libtorch/) and oneDNN written by hand
# (bench/onednn/) on the same models, batches and kinds of input, and against ONNX Runtime
# (bench/ort/) on the W5 inference workloads with the very same weights -- the per-step
# table, with the peak memory of W3 and W4 -- and then the job table (bench/job.py): whole
# training runs of the examples on real data against PyTorch's twins, at 1 and 2 threads.
#
#   bash bench/run.sh [--quick] [--threads N] [--rounds R] [--workloads W1,W3,...] [--iters N]
#                     [--sides plangrad,torch,libtorch,onednn,ort] [--tables steps|jobs|both]
#   bash bench/run.sh --profile [--workloads W1,W3,W4]
#
# Builds bench_workloads (Release) in build-bench/, the LibTorch peer in
# build-bench/libtorch/, the oneDNN peer in build-bench/onednn/ and the ONNX Runtime peer in
# build-bench/ort/ (its models: bench_workloads --save-models, then plangrad export-onnx, in
# build-bench/ort-models/), then for each workload runs the sides alternately (plangrad,
# PyTorch, LibTorch, oneDNN, ORT, plangrad, ...), R rounds (default 5), each process timing
# its steps one by one and printing the median; then, for W3 and W4, one process per side
# for its peak memory (bench/max_rss.py). The summary (bench/summarize.py) is the median over rounds per
# side and the ratios plangrad / peer. The -real workloads read data/fashion-mnist
# (scripts/prepare_data.sh makes it). Threads (default 1): OPENBLAS_NUM_THREADS for
# plangrad; torch.set_num_threads / at::set_num_threads plus OMP/MKL/OPENBLAS_NUM_THREADS
# for PyTorch and LibTorch; OMP_NUM_THREADS and omp_set_num_threads for oneDNN.
# --quick: one round, one warm-up and one timed step of everything (shows the suite works;
# the figures mean nothing). A side whose prerequisites are missing (PyTorch:
# /usr/bin/python3 -c 'import torch'; LibTorch: libtorch-dev; oneDNN: libdnnl-dev; ORT: bash
# scripts/setup.sh --onnx and a plangrad built with ONNX) is left out with a note.
# --profile: bench/profile_workloads.py, where plangrad's time goes (perf cpu-clock samples
# on the Release build, callgrind instruction counts on an AVX2 build in build-bench/prof).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PLANGRAD_BENCH_BUILD:-$root/build-bench}"  # CI reuses its Release build/
quick=0 profile=0 threads=1 rounds=5 workloads=all iters="" tables=both sides=plangrad,torch,libtorch,onednn,ort
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --profile) profile=1 ;;
    --threads) threads="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --workloads) workloads="$2"; shift ;;
    --iters) iters="$2"; shift ;;
    --tables) tables="$2"; shift ;;
    --sides) sides="$2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (--help lists them)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --threads takes a positive integer" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds takes a positive integer" >&2; exit 2; }
[[ -z "$iters" || "$iters" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --iters takes a positive integer" >&2; exit 2; }
[[ "$tables" =~ ^(steps|jobs|both)$ ]] || { echo "run.sh: --tables takes steps, jobs or both" >&2; exit 2; }
[[ ",$sides," == *,plangrad,* ]] || { echo "run.sh: --sides must include plangrad (the ratios are plangrad / peer)" >&2; exit 2; }
IFS=, read -ra side_list <<<"$sides"
for s in "${side_list[@]}"; do
  [[ $s =~ ^(plangrad|torch|libtorch|onednn|ort)$ ]] ||
    { echo "run.sh: unknown side '$s' (plangrad, torch, libtorch, onednn, ort)" >&2; exit 2; }
done
want() { [[ ",$sides," == *,"$1",* ]]; }

echo "== building bench_workloads (Release) in $build"
if [ -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" >/dev/null  # keep the existing configuration (CI's build/)
else
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPLANGRAD_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target plangrad_bench_workloads plangrad_circle plangrad_mnist plangrad_cli -j2 >/dev/null
bin="$build/bench_workloads"

py=/usr/bin/python3
if [[ $profile == 1 ]]; then
  exec "$py" "$root/bench/profile_workloads.py" --root "$root" --workloads "${workloads/all/W1,W3,W4}"
fi

have_torch=1
if ! "$py" -c 'import torch' >/dev/null 2>&1; then
  have_torch=0
  echo "== note: PyTorch is not importable by $py (Debian: apt-get install python3-torch);" \
       "leaving its side out"
fi

# The LibTorch peer: its own CMake project (plangrad's build never needs LibTorch).
lt_bin=""
if [[ $tables != jobs ]] && want libtorch; then
  if cmake -S "$root/bench/libtorch" -B "$build/libtorch" -DCMAKE_BUILD_TYPE=Release >"$build/libtorch.log" 2>&1; then
    echo "== building the LibTorch peer in $build/libtorch"
    cmake --build "$build/libtorch" -j2 >>"$build/libtorch.log" 2>&1 ||
      { cat "$build/libtorch.log" >&2; echo "run.sh: the LibTorch peer did not build" >&2; exit 1; }
    lt_bin="$build/libtorch/libtorch_workloads"
  else
    echo "== note: LibTorch not found (Debian: bash scripts/setup.sh --bench installs libtorch-dev);" \
         "leaving its side out ($build/libtorch.log)"
  fi
fi

# The oneDNN peer: its own CMake project too (with conv_layouts, which run.sh does not run).
od_bin=""
if [[ $tables != jobs ]] && want onednn; then
  if cmake -S "$root/bench/onednn" -B "$build/onednn" -DCMAKE_BUILD_TYPE=Release >"$build/onednn.log" 2>&1; then
    echo "== building the oneDNN peer in $build/onednn"
    cmake --build "$build/onednn" -j2 >>"$build/onednn.log" 2>&1 ||
      { cat "$build/onednn.log" >&2; echo "run.sh: the oneDNN peer did not build" >&2; exit 1; }
    od_bin="$build/onednn/onednn_workloads"
  else
    echo "== note: oneDNN not found (Debian: bash scripts/setup.sh --bench installs libdnnl-dev);" \
         "leaving its side out ($build/onednn.log)"
  fi
fi

# The ONNX Runtime peer (inference, W5): its own CMake project too, on W5's very models
# exported by plangrad (export-onnx needs a plangrad built with ONNX).
ort_bin="" ort_models="$build/ort-models"
if [[ $tables != jobs ]] && want ort; then
  if cmake -S "$root/bench/ort" -B "$build/ort" -DCMAKE_BUILD_TYPE=Release >"$build/ort.log" 2>&1; then
    cmake --build "$build/ort" -j2 >>"$build/ort.log" 2>&1 ||
      { cat "$build/ort.log" >&2; echo "run.sh: the ONNX Runtime peer did not build" >&2; exit 1; }
    mkdir -p "$ort_models"
    if "$bin" --save-models "$ort_models" >>"$build/ort.log" 2>&1 &&
       "$build/plangrad" export-onnx "$ort_models/mlp.json" "$ort_models/mlp.onnx" --output logits >>"$build/ort.log" 2>&1 &&
       "$build/plangrad" export-onnx "$ort_models/cnn.json" "$ort_models/cnn.onnx" --output logits >>"$build/ort.log" 2>&1; then
      ort_bin="$build/ort/ort_workloads"
    else
      echo "== note: plangrad export-onnx did not export W5's models; leaving ONNX Runtime out ($build/ort.log)"
    fi
  else
    echo "== note: ONNX Runtime not found (bash scripts/setup.sh --onnx installs it);" \
         "leaving it out ($build/ort.log)"
  fi
fi

if [[ $tables != jobs ]]; then
  [[ $workloads == all ]] && workloads="$("$bin" --list | paste -sd, -)"
  data="$root/data/fashion-mnist"
  if [[ ",$workloads," == *-real,* ]]; then
    PLANGRAD="$build/plangrad" bash "$root/scripts/prepare_data.sh" >/dev/null
  fi
  w4_opt="$("$bin" --w4-optimizer)"
  results="$build/results.jsonl"
  : >"$results"
  load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), threads $threads, rounds $rounds, load average $load_before," \
       "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, W4 optimizer $w4_opt"

  common=(--data "$data")
  [[ $quick == 1 ]] && common+=(--quick)
  [[ -n "$iters" ]] && common+=(--iters "$iters")

  # pg/th/lt/od WORKLOADS [ARGS...]: one process of that side, its JSON lines into results.
  # With measure=(bench/max_rss.py), the process's peak memory instead.
  measure=()
  pg() {
    local w="$1"; shift
    OPENBLAS_NUM_THREADS="$threads" "${measure[@]}" "$bin" --workloads "$w" "${common[@]}" "$@" | tee -a "$results"
  }
  th() {
    [[ $have_torch == 1 ]] && want torch || return 0
    local w="$1"; shift
    OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
      "${measure[@]}" "$py" "$root/bench/torch_workloads.py" --workloads "$w" --threads "$threads" \
      --w4-optimizer "$w4_opt" "${common[@]}" "$@" | tee -a "$results"
  }
  lt() {
    [[ -n "$lt_bin" ]] || return 0
    local w="$1"; shift
    OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
      "${measure[@]}" "$lt_bin" --workloads "$w" --threads "$threads" "${common[@]}" "$@" | tee -a "$results"
  }
  od() {
    [[ -n "$od_bin" ]] || return 0
    local w="$1"; shift
    OMP_NUM_THREADS="$threads" "${measure[@]}" "$od_bin" --workloads "$w" --threads "$threads" "${common[@]}" "$@" |
      tee -a "$results"
  }
  ort() {  # inference workloads only: the W5 ones among $1
    [[ -n "$ort_bin" ]] || return 0
    # (grep finds none in a training workload: not a failure under pipefail)
    local w; w="$(tr , '\n' <<<"$1" | { grep '^W5-' || true; } | paste -sd, -)"
    [[ -n "$w" ]] || return 0
    shift
    OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
      "$ort_bin" --models "$ort_models" --workloads "$w" --threads "$threads" "${common[@]}" "$@" | tee -a "$results"
  }

  IFS=, read -ra names <<<"$workloads"
  if [[ $quick == 1 ]]; then  # one process per side, everything in it
    pg "$workloads"
    th "$workloads"
    lt "$workloads"
    od "$workloads"
    ort "$workloads"
  else
    for w in "${names[@]}"; do
      for ((r = 1; r <= rounds; ++r)); do
        pg "$w"
        th "$w"
        lt "$w"
        od "$w"
        ort "$w"
      done
    done
  fi

  # Peak memory: one process per side for W3 and for W4 that builds the workload and runs
  # its steps (200 without warm-up; --quick: one), plangrad without its GEMM-only timing.
  common=(--data "$data" --iters 200 --warmup 0)
  [[ $quick == 1 ]] && common=(--data "$data" --quick)
  measure=("$py" "$root/bench/max_rss.py")
  for w in W3 W4; do
    [[ ",$workloads," == *,"$w",* ]] || continue
    pg "$w" --no-gemm-only
    th "$w"
    lt "$w"
    od "$w"
  done
  measure=()

  load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "== summary (load average before: $load_before, after: $load_after; results in $results)"
  "$py" "$root/bench/summarize.py" "$results" --load "$load_before / $load_after"
fi

if [[ $tables != steps ]]; then
  [[ $have_torch == 1 ]] || { echo "run.sh: the job table needs PyTorch (bash scripts/setup.sh --bench)" >&2; exit 1; }
  PLANGRAD="$build/plangrad" bash "$root/scripts/prepare_data.sh" >/dev/null
  job_args=(--build "$build" --data "$root/data" --rounds "$rounds")
  [[ $quick == 1 ]] && job_args+=(--quick)
  echo "== job table (bench/job.py ${job_args[*]})"
  "$py" "$root/bench/job.py" "${job_args[@]}"
fi
