#!/bin/sh
# plangrad train (and the examples) must not lose a user's work: output paths checked before
# the first step, --out never replacing the checkpoint, divergence stopping the run with the
# last good checkpoint kept, and a resumed run's log agreeing with its checkpoint.
#
#   train_safety.sh CASE WORKDIR PLANGRAD [CIRCLE MNIST]
#
# The models: tests/cli/train_linear.json (x [N, 4] -> 2 logits, softmax cross-entropy) and
# tests/cli/train_mlp.json (4 -> 16 relu -> 16 relu -> 2, which diverges at --lr 1e6); the
# data, written here, ten 2x2 training images and four test images.
set -u
case=$1 work=$2 cli=$3
model=$(dirname "$0")/train_linear.json
rm -rf "$work"
mkdir -p "$work/data"
data=$work/data

bytes() { printf "$(printf '\\%03o' "$@")"; }
# IDX images: magic 0x803, count, rows 2, cols 2 (big-endian), one byte per pixel.
bytes 0 0 8 3 0 0 0 10 0 0 0 2 0 0 0 2 \
  255 0 0 0  0 0 0 255  200 30 10 0  10 0 40 220  180 60 0 20 \
  0 90 30 250  240 10 80 0  20 0 0 200  160 0 50 40  30 70 0 230 > "$data/train-images-idx3-ubyte"
bytes 0 0 8 1 0 0 0 10  0 1 0 1 0 1 0 1 0 1 > "$data/train-labels-idx1-ubyte"
bytes 0 0 8 3 0 0 0 4 0 0 0 2 0 0 0 2  250 0 10 0  0 20 0 240  170 0 30 10  0 0 60 210 > "$data/t10k-images-idx3-ubyte"
bytes 0 0 8 1 0 0 0 4  0 1 0 1 > "$data/t10k-labels-idx1-ubyte"

. "$(dirname "$0")/lib.sh"
# Runs the command, keeping its output in $out and its exit status in $rc.
# Nothing was trained: fit prints one line per epoch with --progress lines.
expect_no_training() { echo "$out" | grep '^epoch ' >/dev/null && fail "training ran before the error"; return 0; }
train() { run "$cli" train "$model" --data "$data" --progress lines "$@"; }
# The "epoch" numbers of a log, space-separated; every line must be one JSON object.
log_epochs() {
  grep -v -c '^{.*}$' "$1" | grep -q '^0$' || fail "$1 has a line that is not a JSON object"
  sed 's/^{"epoch":\([0-9]*\),.*/\1/' "$1" | tr '\n' ' '
}

case $case in
out_folder_missing)
  train --batch 2 --epochs 1 --out "$work/no-such-folder/m.json"
  expect_rc 2
  expect_out "^plangrad train: --out $work/no-such-folder/m.json: the folder $work/no-such-folder does not exist"
  expect_no_training ;;
checkpoint_folder_missing)
  train --batch 2 --epochs 1 --out "$work/m.json" --checkpoint "$work/no-such-folder/c.json"
  expect_rc 2
  expect_out "--checkpoint $work/no-such-folder/c.json: the folder $work/no-such-folder does not exist"
  expect_no_training ;;
log_folder_is_a_file)
  : > "$work/file"
  train --batch 2 --epochs 1 --out "$work/m.json" --log "$work/file/run.jsonl"
  expect_rc 2
  expect_out "--log $work/file/run.jsonl: $work/file is not a folder"
  expect_no_training ;;
out_is_a_folder)
  train --batch 2 --epochs 1 --out "$work"
  expect_rc 2
  expect_out "--out $work: is a folder"
  expect_no_training ;;
out_is_checkpoint)
  # The same file under two spellings.
  train --batch 2 --epochs 1 --checkpoint "$work/run.json" --out "$work/./data/../run.json"
  expect_rc 2
  expect_out "--out and --checkpoint both name"
  expect_no_training
  [ ! -e "$work/run.json" ] || fail "the checkpoint file was written" ;;
diverged)
  # lr 0.1 in epoch 1, 1e39 from epoch 2 (step:1:1e40): more than a float holds. Epoch 2's
  # first step (step 6 of 2-image batches) has a finite loss and makes the weights
  # infinite; the next step's loss is NaN.
  train --batch 2 --epochs 3 --lr 0.1 --schedule step:1:1e40 --checkpoint "$work/c.json" \
    --log "$work/run.jsonl" --out "$work/m.json"
  expect_rc 1
  expect_out "^plangrad train: training diverged at epoch 2, step 7 (loss = nan); the last good checkpoint is $work/c.json (after epoch 1); the model was not saved to $work/m.json"
  [ ! -e "$work/m.json" ] || fail "--out was written"
  grep -q '"epochs_done": *1,' "$work/c.json" || fail "the checkpoint is not epoch 1's"
  run "$cli" inspect "$work/c.json"
  expect_rc 0
  [ "$(log_epochs "$work/run.jsonl")" = "1 " ] || fail "the log is not epoch 1's line alone" ;;
diverged_first_epoch)
  # The issue's case: --lr 1e6 on a network with hidden layers.
  run "$cli" train "$(dirname "$0")/train_mlp.json" --data "$data" --progress lines --batch 2 --epochs 2 \
    --lr 1e6 --checkpoint "$work/c.json" --out "$work/m.json"
  expect_rc 1
  expect_out "training diverged at epoch 1, step [1-5] (loss = nan); no checkpoint was written: the first epoch did not finish"
  [ ! -e "$work/c.json" ] && [ ! -e "$work/m.json" ] || fail "a file was written" ;;
resume_log_agrees)
  # The state after a kill between epoch 2's log line and its checkpoint: the log has
  # epochs 1 and 2 (and half a line of 3), the checkpoint is epoch 1's.
  train --batch 2 --epochs 1 --checkpoint "$work/c.json" --log "$work/run.jsonl" --out "$work/m.json"
  expect_rc 0
  cp "$work/c.json" "$work/c1.json"
  train --epochs 2 --checkpoint "$work/c.json" --resume --log "$work/run.jsonl" --out "$work/m.json"
  expect_rc 0
  [ "$(log_epochs "$work/run.jsonl")" = "1 2 " ] || fail "two epochs did not log 1 2"
  cp "$work/c1.json" "$work/c.json"
  printf '{"epoch":3,"loss":0.' >> "$work/run.jsonl"
  train --epochs 3 --checkpoint "$work/c.json" --resume --log "$work/run.jsonl" --out "$work/m.json"
  expect_rc 0
  [ "$(log_epochs "$work/run.jsonl")" = "1 2 3 " ] || fail "the resumed log is not epochs 1 2 3: $(log_epochs "$work/run.jsonl")" ;;
circle_save_folder_missing)
  run "$4" --epochs 1 --save "$work/no-such-folder/m.json"
  expect_rc 2
  expect_out "--save $work/no-such-folder/m.json: the folder $work/no-such-folder does not exist"
  expect_no_training ;;
mnist_save_folder_missing)
  run "$5" --data "$data" --epochs 1 --save "$work/no-such-folder/m.json"
  expect_rc 2
  expect_out "--save $work/no-such-folder/m.json: the folder $work/no-such-folder does not exist"
  expect_no_training ;;
*)
  fail "unknown case '$case'" ;;
esac
echo "ok: $case"
