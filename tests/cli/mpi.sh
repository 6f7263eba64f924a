#!/bin/sh
# Data-parallel training over MPI (docs/distributed.md), one case per ctest test:
#   sh tests/cli/mpi.sh CASE WORK_DIR MPI_FIT PLANGRAD MNIST_DIR
# MPI_FIT is tests/mpi_fit.cpp's driver. Every mpirun runs under `timeout`, so that a hang
# fails the test instead of stalling the suite. A build with MPI on runs these: a missing
# mpirun or MNIST set is a failure, not a skip.
set -u
case_=$1 work=$2 fit=$3 cli=$4 data=$5
rm -rf "$work" && mkdir -p "$work" || exit 1
export OPENBLAS_NUM_THREADS=1
# Under AddressSanitizer (scripts/test.sh --sanitize) leak checking is off for these
# processes: OpenMPI 4.1 leaves allocations behind at MPI_Finalize in components it has
# already unloaded, which LeakSanitizer can neither attribute nor suppress. Every other
# ASan check stays on, and the in-process [distributed] tests (tests/test_data_parallel.cpp)
# check plangrad's own distributed path for leaks.
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"; fi
command -v mpirun >/dev/null 2>&1 || { echo "mpirun not found: this build has MPI on; install openmpi-bin (scripts/setup.sh --mpi)"; exit 1; }
[ -e "$data/train-images-idx3-ubyte" ] || [ -e "$data/train-images-idx3-ubyte.gz" ] ||
  { echo "no MNIST training set in $data: run scripts/setup.sh --data"; exit 1; }

root=""
[ "$(id -u)" = 0 ] && root="--allow-run-as-root"
# mpirun -np N COMMAND...: on this machine only (shared memory), as many ranks as asked.
mpi() {
  np=$1
  shift
  timeout 120 mpirun $root --oversubscribe --bind-to none -np "$np" "$@"
}
. "$(dirname "$0")/lib.sh"
# Runs a command that must fail within 60 s with a line matching $1 in its output.
must_fail() {
  pattern=$1
  shift
  start=$(date +%s)
  out=$("$@" 2>&1)
  rc=$?
  echo "$out"
  echo "exit $rc after $(( $(date +%s) - start )) s"
  [ "$rc" -ne 0 ] || fail "the job succeeded"
  [ "$rc" -ne 124 ] || fail "the job hung (killed by timeout)"
  echo "$out" | grep -q -e "$pattern" || fail "no line matches '$pattern'"
}
train() { "$fit" --data "$data" "$@"; }

case $case_ in
  mlp_2x64_vs_1x128 | cnn_2x64_vs_1x128)
    net=${case_%%_*}
    # 20 steps of a global batch of 128: one process, then 2 ranks of 64 rows each (the CNN's
    # batchnorm synchronized: its statistics are the global batch's).
    train --net "$net" --examples 2560 --batch 128 --params "$work/one.bin" || fail "one process"
    mpi 2 "$fit" --data "$data" --net "$net" --examples 2560 --batch 128 --sync-batchnorm --params "$work/two.bin" ||
      fail "2 ranks"
    "$fit" --compare "$work/one.bin" "$work/two.bin" --rtol 1e-5 || fail "2 ranks differ from one process"
    ;;
  cnn_local_batchnorm)
    # Without synchronized batchnorm each rank normalizes with its 64 rows' statistics: a
    # different computation, which the comparison must notice.
    train --net cnn --examples 2560 --batch 128 --params "$work/one.bin" || fail "one process"
    mpi 2 "$fit" --data "$data" --net cnn --examples 2560 --batch 128 --params "$work/two.bin" || fail "2 ranks"
    if "$fit" --compare "$work/one.bin" "$work/two.bin" --rtol 1e-5; then fail "local batchnorm agrees with one process"; fi
    ;;
  uneven_batch)
    # A batch of 127 splits 63 + 64; each rank's gradient is weighted by its rows.
    train --net mlp --examples 2540 --batch 127 --params "$work/one.bin" || fail "one process"
    mpi 2 "$fit" --data "$data" --net mlp --examples 2540 --batch 127 --params "$work/two.bin" || fail "2 ranks"
    "$fit" --compare "$work/one.bin" "$work/two.bin" --rtol 1e-5 || fail "2 uneven ranks differ from one process"
    ;;
  sharded_same_bits)
    # Each rank reading only its rows of each epoch (--sharded) trains the bits of ranks that
    # hold the whole set: 2 epochs, 2 ranks, and a checkpoint resumed mid-run.
    mpi 2 "$fit" --data "$data" --net cnn --examples 1280 --batch 128 --epochs 2 --sync-batchnorm \
      --params "$work/whole.bin" || fail "2 ranks holding the set"
    mpi 2 "$fit" --data "$data" --net cnn --examples 1280 --batch 128 --epochs 2 --sync-batchnorm --sharded \
      --params "$work/sharded.bin" || fail "2 ranks reading their shards"
    cmp "$work/whole.bin" "$work/sharded.bin" || fail "reading shards changed the bits"
    mpi 2 "$fit" --data "$data" --net cnn --examples 1280 --batch 128 --epochs 1 --sync-batchnorm --sharded \
      --checkpoint "$work/c.json" || fail "first epoch"
    mpi 2 "$fit" --data "$data" --net cnn --examples 1280 --epochs 2 --sync-batchnorm --sharded \
      --checkpoint "$work/c.json" --resume --params "$work/resumed.bin" || fail "resumed run"
    cmp "$work/whole.bin" "$work/resumed.bin" || fail "the resumed sharded run differs"
    ;;
  cli_validation_split)
    # Each rank evaluates its batches of the validation set (2000 images in batches of 300:
    # 3 on rank 0, 4 on rank 1) and the figures are put together: what the 2-rank run prints
    # and logs is one process's evaluation of the model it saved, to the last digit.
    "$fit" --save-model cnn "$work/cnn.json" || fail "save the model"
    mpi 2 "$cli" train "$work/cnn.json" --data "$data" --batch 128 --epochs 1 --eval-batch 300 --progress off \
      --sync-batchnorm --out "$work/out.json" --log "$work/log.jsonl" > "$work/stdout" || fail "plangrad train"
    "$cli" eval "$work/out.json" --data "$data" --batch 300 > "$work/eval" || fail "plangrad eval"
    cat "$work/stdout" "$work/eval"
    loss=$(grep -o '"loss":[^,}]*' "$work/eval" | cut -d: -f2)
    accuracy=$(grep -o '"accuracy":[^,}]*' "$work/eval" | cut -d: -f2)
    [ -n "$loss" ] && [ -n "$accuracy" ] || fail "no loss or accuracy in plangrad eval's line"
    for f in "$work/stdout" "$work/log.jsonl"; do
      grep -q "\"val_loss\":$loss[,}]" "$f" || fail "$f: the validation loss is not $loss"
      grep -q "\"val_accuracy\":$accuracy[,}]" "$f" || fail "$f: the validation accuracy is not $accuracy"
    done
    ;;
  one_rank_same_bits)
    train --net cnn --examples 1280 --batch 128 --params "$work/plain.bin" || fail "one process"
    mpi 1 "$fit" --data "$data" --net cnn --examples 1280 --batch 128 --params "$work/mpi1.bin" || fail "1 rank"
    cmp "$work/plain.bin" "$work/mpi1.bin" || fail "1 rank over MPI is not bit-identical to no MPI"
    ;;
  same_r_same_bits)
    for i in 1 2; do
      mpi 2 "$fit" --data "$data" --net cnn --examples 1280 --batch 128 --epochs 2 --params "$work/run$i.bin" ||
        fail "run $i"
      mpi 2 "$fit" --data "$data" --net cnn --examples 1280 --batch 128 --epochs 2 --sync-batchnorm \
        --params "$work/sync$i.bin" || fail "synchronized run $i"
    done
    cmp "$work/run1.bin" "$work/run2.bin" || fail "two 2-rank runs differ"
    cmp "$work/sync1.bin" "$work/sync2.bin" || fail "two 2-rank runs with synchronized batchnorm differ"
    ;;
  resume_2_ranks)
    # 2 epochs of 10 steps straight, against 1 epoch, a checkpoint, and a resumed second.
    mpi 2 "$fit" --data "$data" --net cnn --examples 1280 --batch 128 --epochs 2 --params "$work/straight.bin" ||
      fail "uninterrupted run"
    mpi 2 "$fit" --data "$data" --net cnn --examples 1280 --batch 128 --epochs 1 --checkpoint "$work/c.json" ||
      fail "first epoch"
    grep -q '"ranks": 2' "$work/c.json" || fail "the checkpoint does not record 2 ranks"
    mpi 2 "$fit" --data "$data" --net cnn --examples 1280 --epochs 2 --checkpoint "$work/c.json" --resume \
      --params "$work/resumed.bin" || fail "resumed run"
    cmp "$work/straight.bin" "$work/resumed.bin" || fail "the resumed run differs from the uninterrupted one"
    ;;
  resume_other_r_refused)
    mpi 2 "$fit" --data "$data" --net mlp --examples 512 --batch 128 --epochs 1 --checkpoint "$work/c.json" ||
      fail "first epoch"
    must_fail "trained on 2 rank(s), not 1: resume it on 2" \
      train --examples 512 --epochs 2 --checkpoint "$work/c.json" --resume
    must_fail "rank [0-2] of 3: mpi_fit: fit: the run to resume was trained on 2 rank(s), not 3" \
      mpi 3 "$fit" --data "$data" --examples 512 --epochs 2 --checkpoint "$work/c.json" --resume
    # Synchronized batchnorm is recorded too: a resume must keep it.
    mpi 2 "$fit" --data "$data" --net mlp --examples 512 --batch 128 --epochs 1 --sync-batchnorm \
      --checkpoint "$work/s.json" || fail "first synchronized epoch"
    grep -q '"sync_batchnorm": true' "$work/s.json" || fail "the checkpoint does not record synchronized batchnorm"
    must_fail "rank [01] of 2: mpi_fit: fit: the run to resume was trained with synchronized batchnorm on, not off" \
      mpi 2 "$fit" --data "$data" --examples 512 --epochs 2 --checkpoint "$work/s.json" --resume
    ;;
  fail_load)
    must_fail "rank 1 of 2: mpi_fit: .*cannot read this rank's shard" \
      mpi 2 "$fit" --data "$data" --net mlp --examples 512 --batch 64 --fail-rank 1 --fail load
    ;;
  fail_epoch)
    must_fail "rank 1 of 2: mpi_fit: planted failure after epoch 1" \
      mpi 2 "$fit" --data "$data" --net mlp --examples 512 --batch 64 --epochs 3 --fail-rank 1 --fail epoch
    ;;
  killed)
    # mpirun notices the dead rank and ends the others.
    must_fail "rank 1 .*signal 9" \
      mpi 2 "$fit" --data "$data" --net mlp --examples 512 --batch 64 --epochs 3 --fail-rank 1 --fail kill
    ;;
  hang_timeout)
    # Rank 1 hangs after epoch 1; rank 0 waits for its gradients 5 s, then ends the job.
    must_fail "rank 0 of 2: the gradient sum: no answer from the other ranks within 5" \
      mpi 2 "$fit" --data "$data" --net mlp --examples 512 --batch 64 --epochs 3 --timeout 5 --fail-rank 1 --fail hang
    ;;
  cli_train)
    "$fit" --save-model cnn "$work/cnn.json" || fail "save the model"
    mpi 2 "$cli" train "$work/cnn.json" --data "$data" --subset 512 --batch 64 --epochs 1 --progress lines \
      --out "$work/out.json" --checkpoint "$work/c.json" --log "$work/log.jsonl" > "$work/stdout" || fail "plangrad train"
    cat "$work/stdout"
    [ "$(grep -c '"command":"train"' "$work/stdout")" = 1 ] || fail "not exactly one JSON summary line"
    [ "$(grep -c '^epoch' "$work/stdout")" = 1 ] || fail "not exactly one epoch line"
    [ -s "$work/out.json" ] || fail "no trained model"
    [ "$(wc -l < "$work/log.jsonl")" = 1 ] || fail "the log does not hold one line"
    grep -q '"ranks": 2' "$work/c.json" || fail "the checkpoint does not record 2 ranks"
    ;;
  cli_interrupted)
    # SIGINT to the ranks (mpirun itself would kill them): every rank stops after the same
    # step, rank 0 checkpoints it, exit 130; the resumed run on 2 ranks finishes.
    "$fit" --save-model mlp "$work/mlp.json" || fail "save the model"
    timeout 120 mpirun $root --oversubscribe --bind-to none -np 2 "$cli" train "$work/mlp.json" --data "$data" \
      --batch 64 --epochs 1000 --progress lines --out "$work/out.json" --checkpoint "$work/c.json" \
      --log "$work/log.jsonl" > "$work/stdout" 2> "$work/stderr" &
    launcher=$!
    while [ ! -s "$work/log.jsonl" ] && kill -0 "$launcher" 2>/dev/null; do sleep 0.2; done
    # mpirun's children: the ranks (from /proc, so that no ps or pgrep is needed).
    mpirun_pid=$(for d in /proc/[0-9]*; do
      [ "$(cut -d' ' -f4 "$d/stat" 2>/dev/null)" = "$launcher" ] && echo "${d#/proc/}"; done)
    for p in $(for d in /proc/[0-9]*; do
      [ "$(cut -d' ' -f4 "$d/stat" 2>/dev/null)" = "$mpirun_pid" ] && echo "${d#/proc/}"; done); do
      kill -INT "$p"
    done
    wait "$launcher"
    rc=$?
    cat "$work/stdout" "$work/stderr"
    [ "$rc" = 130 ] || fail "exit $rc, not 130"
    grep -q "^resume with: mpirun -np 2 plangrad train" "$work/stderr" || fail "no resume hint naming mpirun -np 2"
    grep -q '"ranks": 2' "$work/c.json" || fail "the checkpoint does not record 2 ranks"
    [ "$(grep -c '"command":"train"' "$work/stdout")" = 1 ] || fail "not exactly one JSON summary line"
    done_=$(grep -o '"epochs_done":[0-9]*' "$work/stdout" | cut -d: -f2)
    mpi 2 "$cli" train "$work/mlp.json" --data "$data" --epochs $((done_ + 1)) --progress off --out "$work/out.json" \
      --checkpoint "$work/c.json" --resume > "$work/resumed" || fail "the resumed run"
    cat "$work/resumed"
    grep -q "\"status\":\"completed\",\"epochs_done\":$((done_ + 1))," "$work/resumed" ||
      fail "the resumed run did not finish the interrupted epoch"
    ;;
  cli_last_batch_too_small)
    "$fit" --save-model mlp "$work/mlp.json" || fail "save the model"
    must_fail "the last batch of each epoch has 1 rows.*fewer than the 2 ranks" \
      mpi 2 "$cli" train "$work/mlp.json" --data "$data" --subset 513 --batch 64 --epochs 1 --out "$work/out.json"
    ;;
  *) echo "mpi.sh: unknown case '$case_'"; exit 2 ;;
esac
echo "ok: $case_"
