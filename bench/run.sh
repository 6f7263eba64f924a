#!/usr/bin/env bash
# The side-by-side benchmark: plangrad (bench/workloads.cpp) against PyTorch
# (bench/torch_workloads.py) on the same models, batches and fixed inputs -- the per-step
# table -- and then the job table (bench/job.py): whole training runs of the examples on
# real data against PyTorch's twins, at 1 and 2 threads.
#
#   bash bench/run.sh [--quick] [--threads N] [--rounds R] [--workloads W1,W3,...] [--iters N]
#                     [--tables steps|jobs|both]
#   bash bench/run.sh --profile [--workloads W1,W3,W4]
#
# Builds bench_workloads (Release) in build-bench/, then for each workload runs the two
# sides alternately, R rounds (default 5), each process timing its steps one by one and
# printing the median; the summary is the median over rounds per side and the ratio
# plangrad / torch. Threads (default 1): OPENBLAS_NUM_THREADS for plangrad;
# torch.set_num_threads plus OMP/MKL/OPENBLAS_NUM_THREADS for PyTorch.
# --quick: one round, one warm-up and one timed step of everything (shows the suite works;
# the figures mean nothing). Without PyTorch (/usr/bin/python3 -c 'import torch' fails)
# only plangrad's side runs.
# --profile: bench/profile_workloads.py, where plangrad's time goes (perf cpu-clock samples
# on the Release build, callgrind instruction counts on an AVX2 build in build-bench/prof).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PLANGRAD_BENCH_BUILD:-$root/build-bench}"  # CI reuses its Release build/
quick=0 profile=0 threads=1 rounds=5 workloads=all iters="" tables=both
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --profile) profile=1 ;;
    --threads) threads="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --workloads) workloads="$2"; shift ;;
    --iters) iters="$2"; shift ;;
    --tables) tables="$2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (--help lists them)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --threads takes a positive integer" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds takes a positive integer" >&2; exit 2; }
[[ -z "$iters" || "$iters" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --iters takes a positive integer" >&2; exit 2; }
[[ "$tables" =~ ^(steps|jobs|both)$ ]] || { echo "run.sh: --tables takes steps, jobs or both" >&2; exit 2; }

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
       "running plangrad's side only"
fi

if [[ $tables != jobs ]]; then
  [[ $workloads == all ]] && workloads="$("$bin" --list | paste -sd, -)"
  w4_opt="$("$bin" --w4-optimizer)"
  results="$build/results.jsonl"
  : >"$results"
  load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), threads $threads, rounds $rounds, load average $load_before," \
       "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, W4 optimizer $w4_opt"

  common=()
  [[ $quick == 1 ]] && common+=(--quick)
  [[ -n "$iters" ]] && common+=(--iters "$iters")

  pg() { OPENBLAS_NUM_THREADS="$threads" "$bin" --workloads "$1" "${common[@]}" | tee -a "$results"; }
  th() {
    [[ $have_torch == 1 ]] || return 0
    OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
      "$py" "$root/bench/torch_workloads.py" --workloads "$1" --threads "$threads" \
      --w4-optimizer "$w4_opt" "${common[@]}" | tee -a "$results"
  }

  if [[ $quick == 1 ]]; then  # one process per side, everything in it
    pg "$workloads"
    th "$workloads"
  else
    IFS=, read -ra names <<<"$workloads"
    for w in "${names[@]}"; do
      for ((r = 1; r <= rounds; ++r)); do
        pg "$w"
        th "$w"
      done
    done
  fi

  load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "== summary (load average before: $load_before, after: $load_after; results in $results)"
  "$py" "$root/bench/torch_workloads.py" --summarize "$results" --load "$load_before / $load_after"
fi

if [[ $tables != steps ]]; then
  [[ $have_torch == 1 ]] || { echo "run.sh: the job table needs PyTorch (bash scripts/setup.sh --bench)" >&2; exit 1; }
  PLANGRAD="$build/plangrad" bash "$root/scripts/prepare_data.sh" >/dev/null
  job_args=(--build "$build" --data "$root/data" --rounds "$rounds")
  [[ $quick == 1 ]] && job_args+=(--quick)
  echo "== job table (bench/job.py ${job_args[*]})"
  "$py" "$root/bench/job.py" "${job_args[@]}"
fi
