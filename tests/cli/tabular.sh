#!/bin/sh
# plangrad new / train / eval / predict on tables (CSV): each task type on real data with an
# accuracy (or R²) bound, the circle MLP trained from a CSV, and every kind of bad input
# refused with the file, the line and the column named, exit 1 (2 for a bad flag), and
# nothing written.
#
#   tabular.sh CASE WORKDIR PLANGRAD [CIRCLE [REGRESSION]]
#
# The real data sets are python3-sklearn's (scripts/setup.sh --data, which scripts/test.sh
# runs), written as CSV by scripts/tabular_data.sh; without them the cases fail.
set -u
case=$1 work=$2 cli=$3 circle=${4:-} regression=${5:-}
here=$(dirname "$0")
rm -rf "$work"
mkdir -p "$work"
export OPENBLAS_NUM_THREADS=1

. "$(dirname "$0")/lib.sh"
expect_absent() { [ ! -e "$1" ] || fail "$1 was written"; }
# The number after "KEY": in the output's last JSON line.
figure() { echo "$out" | tail -n 1 | sed -n "s/.*\"$1\":\\([-0-9.e]*\\).*/\\1/p"; }
# Whether figure KEY compares OP (">=", "<=") with BOUND.
expect_figure() {
  v=$(figure "$1")
  [ -n "$v" ] || fail "no \"$1\" in the last line"
  awk -v v="$v" -v b="$3" -v op="$2" 'BEGIN { exit !((op == ">=") ? v >= b : v <= b) }' ||
    fail "$1 = $v, expected $2 $3"
}
real_data() {
  bash "$here/../../scripts/tabular_data.sh" "$work/data" >/dev/null || { echo "FAIL: scripts/tabular_data.sh could not write the data sets (python3-sklearn: scripts/setup.sh --data)"; exit 1; }
}
new() { kind=$1; shift; run "$cli" new "$kind" "$@"; expect_rc 0; }
train() { run "$cli" train "$@" --progress off; }

# A small table and a classifier for it: columns a, b (features) and y (the label).
toy() {
  printf 'a,b,y\n1,2,cat\n2,1,dog\n3,4,cat\n4,3,dog\n5,6,cat\n6,5,dog\n' >"$work/toy.csv"
  "$cli" new mlp --features 2 --task classification --classes 2 "$work/toy.json" >/dev/null || fail "new mlp"
}
bad_data() {  # CONTENT: a toy table with other rows; training must fail, exit 1, nothing written
  toy
  printf "$1" >"$work/bad.csv"
  train "$work/toy.json" --data "$work/bad.csv" --target y --out "$work/out.json"
  expect_rc 1
  expect_absent "$work/out.json"
}

case $case in
wine)  # 3 classes, integer labels; a small MLP reaches 0.94 held-out accuracy (PyTorch: docs/tabular.md)
  real_data
  new mlp --features 13 --hidden 16 --task classification --classes 3 --seed 1 "$work/wine.json"
  train "$work/wine.json" --data "$work/data/wine.csv" --target class --split 0.2 --seed 1 --standardize \
    --optimizer adam --lr 0.01 --epochs 30 --batch 16 --out "$work/wine.trained.json"
  expect_rc 0
  expect_figure val_accuracy ">=" 0.94
  run "$cli" eval "$work/wine.trained.json" --data "$work/data/wine.csv" --split 0.2 --seed 1
  expect_rc 0
  expect_figure accuracy ">=" 0.94
  expect_out "^data .*36 rows (held out by --split 0.2)"
  run "$cli" predict "$work/wine.trained.json" --data "$work/data/wine.csv" --out "$work/pred.csv"
  expect_rc 0
  [ "$(head -n 1 "$work/pred.csv")" = "class,prob_0,prob_1,prob_2" ] || fail "predict's header: $(head -n 1 "$work/pred.csv")"
  [ "$(wc -l <"$work/pred.csv")" -eq 179 ] || fail "predict wrote $(wc -l <"$work/pred.csv") lines, expected 179"
  # Predicted classes against the labels: the whole set, training rows included.
  tail -n +2 "$work/pred.csv" | cut -d, -f1 >"$work/pred.classes"
  tail -n +2 "$work/data/wine.csv" | awk -F, '{ print $NF }' >"$work/true.classes"
  agree=$(paste -d' ' "$work/pred.classes" "$work/true.classes" | awk '$1 == $2 { n++ } END { print n + 0 }')
  [ "$agree" -ge 170 ] || fail "predict's classes agree with the labels on $agree of 178 rows" ;;
breast_cancer)  # binary, string labels (benign < malignant: malignant is class 1, the positive)
  real_data
  new mlp --features 30 --hidden 16 --task binary --seed 1 "$work/cancer.json"
  train "$work/cancer.json" --data "$work/data/breast_cancer.csv" --target diagnosis --split 0.2 --seed 1 \
    --standardize --optimizer adam --epochs 30 --out "$work/cancer.trained.json"
  expect_rc 0
  expect_figure val_accuracy ">=" 0.94
  expect_figure val_roc_auc ">=" 0.98
  run "$cli" predict "$work/cancer.trained.json" --data "$work/data/breast_cancer.csv"
  expect_rc 0
  [ "$(echo "$out" | sed -n 1p)" = "diagnosis,prob_benign,prob_malignant" ] || fail "predict's header"
  expect_out "^malignant,0\\.[0-9e-]*,[01]\\.[0-9e-]*$" ;;
diabetes)  # regression in the target's units, standardized targets
  real_data
  new mlp --features 10 --hidden 64,32 --task regression --seed 1 "$work/diabetes.json"
  train "$work/diabetes.json" --data "$work/data/diabetes.csv" --target progression --split 0.2 --seed 1 \
    --standardize --optimizer adam --epochs 100 --batch 32 --out "$work/diabetes.trained.json"
  expect_rc 0
  expect_figure val_rmse "<=" 65
  expect_figure val_r2 ">=" 0.3
  run "$cli" predict "$work/diabetes.trained.json" --data "$work/data/diabetes.csv" --out "$work/pred.csv"
  expect_rc 0
  [ "$(head -n 1 "$work/pred.csv")" = "progression" ] || fail "predict's header"
  # Predictions in the target's units (25 .. 346), not standardized ones.
  awk 'NR > 1 && ($1 < 0 || $1 > 400) { exit 1 } NR > 1 { s += $1 } END { exit !(s / (NR - 1) > 100) }' \
    "$work/pred.csv" || fail "predictions not in the target's units" ;;
regression_example)  # examples/regression.cpp's recipe on the diabetes data (docs/tabular.md)
  real_data
  [ -n "$regression" ] || fail "no regression program"
  run "$regression" --data "$work/data/diabetes.csv" --seed 1 --save "$work/diabetes.json"
  expect_rc 0
  expect_figure test_rmse "<=" 56
  expect_figure test_r2 ">=" 0.45
  expect_out '"test_rows":88,"first_test_row":0,"test_row_sum":17300'  # the split torch_tabular.py makes
  run "$cli" predict "$work/diabetes.json" --data "$work/data/diabetes.csv" --features age,sex,bmi,bp,s1,s2,s3,s4,s5,s6
  expect_rc 0
  expect_out "^y$" ;;  # no stored columns: named after the model's target input
circle)  # the circle MLP (one-hot float targets [N, 2]) from a CSV, scored as a classifier too
  [ -n "$circle" ] || fail "no circle program"
  "$circle" --save "$work/circle.json" --epochs 1 --seed 1 >/dev/null || fail "circle --save"
  awk 'BEGIN { srand(7); print "x1,x2,inside,outside"
               for (i = 0; i < 600; i++) { x = rand(); y = rand(); a = ((x-0.5)^2 + (y-0.5)^2 < 0.15915494309189535)
                                           printf "%.6f,%.6f,%d,%d\n", x, y, a, 1 - a } }' >"$work/circle.csv"
  train "$work/circle.json" --data "$work/circle.csv" --target inside,outside --split 0.25 --epochs 100 --lr 0.1 \
    --momentum 0.9 --out "$work/circle.trained.json"
  expect_rc 0
  expect_figure val_accuracy ">=" 0.75
  run "$cli" eval "$work/circle.trained.json" --data "$work/circle.csv" --split 0.25
  expect_rc 0
  expect_out "^model .*regression, features 'x' \\[N, 2\\], target 'y'"
  expect_figure accuracy ">=" 0.75 ;;
predict_stdout_full)  # predictions that cannot be written are an error, not exit 0
  toy
  train "$work/toy.json" --data "$work/toy.csv" --target y --epochs 1 --out "$work/trained.json"
  expect_rc 0
  [ -w /dev/full ] || { echo "FAIL: no writable /dev/full to stand for a full disk"; exit 1; }
  out=$("$cli" predict "$work/trained.json" --data "$work/toy.csv" 2>&1 >/dev/full); rc=$?
  echo "$out"
  expect_rc 1
  expect_out "cannot write" ;;
tsv)  # a .tsv file is read with tabs, quoted fields and all
  printf 'a\tb\t"the label"\n1\t2\tcat\n2\t1\t"dog, big"\n3\t4\tcat\n4\t3\t"dog, big"\n' >"$work/toy.tsv"
  "$cli" new mlp --features 2 --task classification --classes 2 "$work/toy.json" >/dev/null || fail "new mlp"
  train "$work/toy.json" --data "$work/toy.tsv" --target "the label" --epochs 1 --out "$work/trained.json"
  expect_rc 0
  run "$cli" predict "$work/trained.json" --data "$work/toy.tsv"
  expect_rc 0
  expect_out '^the label,prob_cat,"prob_dog, big"$' ;;
resume)  # a run on a table, stopped and resumed from its checkpoint, ends as the unbroken run
  toy
  printf 'a,b,y\n' >"$work/big.csv"
  awk 'BEGIN { for (i = 0; i < 40; ++i) printf "%d,%d,%s\n", i % 7, (i * 3) % 5, (i % 7 > 2) ? "dog" : "cat" }' \
    >>"$work/big.csv"
  set -- --data "$work/big.csv" --target y --split 0.25 --standardize
  train "$work/toy.json" "$@" --seed 3 --optimizer adam --batch 4 --epochs 4 --out "$work/whole.json"
  expect_rc 0
  train "$work/toy.json" "$@" --seed 3 --optimizer adam --batch 4 --epochs 2 --checkpoint "$work/run.ckpt" \
    --out "$work/half.json"
  expect_rc 0
  train "$work/toy.json" "$@" --epochs 4 --checkpoint "$work/run.ckpt" --resume --out "$work/resumed.json"
  expect_rc 0
  cmp "$work/whole.json" "$work/resumed.json" || fail "the resumed run differs from the unbroken one" ;;
cnn_digits)  # new cnn on 8x8 digit images, trained from their 64 pixel columns
  real_data
  new cnn --image 1x8x8 --classes 10 --channels 8,16 --seed 1 "$work/cnn.json"
  expect_out "CNN for 1x8x8 images -> 8 channels -> 16 channels -> 10 classes"
  train "$work/cnn.json" --data "$work/data/digits.csv" --target digit --split 0.2 --seed 1 --optimizer adam \
    --epochs 5 --batch 32 --out "$work/cnn.trained.json"
  expect_rc 0
  expect_figure val_accuracy ">=" 0.9 ;;
new_cnn_bad)
  run "$cli" new cnn --image 1x4x4 --classes 3 --channels 4,4,4 "$work/m.json"
  expect_rc 2
  expect_out "block 3 pools 1x1 pixels by 2x2, which leaves none"
  run "$cli" new cnn --image 28x28 --classes 3 "$work/m.json"
  expect_rc 2
  expect_out "--image takes CxHxW"
  expect_absent "$work/m.json" ;;
new_help)
  run "$cli" new --help
  expect_rc 0
  for task in classification binary regression; do expect_out "plangrad new mlp .*--task $task"; done
  expect_out "plangrad new cnn --image 1x28x28" ;;
new_exists)
  toy
  run "$cli" new mlp --features 2 --task binary "$work/toy.json"
  expect_rc 2
  expect_out "toy.json exists" ;;
new_no_task)
  run "$cli" new mlp --features 2 "$work/m.json"
  expect_rc 2
  expect_out "--task must be classification, binary or regression"
  expect_absent "$work/m.json" ;;
unknown_column)
  toy
  train "$work/toy.json" --data "$work/toy.csv" --target label --out "$work/out.json"
  expect_rc 1
  expect_out "toy.csv, line 1: no column 'label'"
  expect_absent "$work/out.json" ;;
missing_value)
  bad_data 'a,b,y\n1,2,cat\n2,,dog\n3,4,cat\n'
  expect_out "bad.csv, line 3, column 'b': missing value" ;;
non_numeric)
  bad_data 'a,b,y\n1,2,cat\n2,1,dog\n3,four,cat\n'
  expect_out "bad.csv, line 4, column 'b': 'four' is not a number" ;;
ragged_row)
  bad_data 'a,b,y\n1,2,cat\n2,1\n'
  expect_out "bad.csv, line 3: 2 fields, but the header has 3" ;;
empty_file)
  bad_data ''
  expect_out "bad.csv, line 1: empty file" ;;
header_only)
  bad_data 'a,b,y\n'
  expect_out "bad.csv, line 2: a header and no data rows" ;;
target_is_feature)
  toy
  train "$work/toy.json" --data "$work/toy.csv" --target y --features a,y --out "$work/out.json"
  expect_rc 1
  expect_out "toy.csv, line 1, column 'y': the column is both a target and a feature"
  expect_absent "$work/out.json" ;;
class_only_in_val)
  toy
  printf 'a,b,y\n1,2,cat\n2,1,bird\n' >"$work/val.csv"
  train "$work/toy.json" --data "$work/toy.csv" --val "$work/val.csv" --target y --out "$work/out.json"
  expect_rc 1
  expect_out "val.csv, line 3, column 'y': .*'bird'"
  expect_absent "$work/out.json" ;;
bad_split)
  toy
  for s in 0 1 1.5 -0.2 half; do
    train "$work/toy.json" --data "$work/toy.csv" --target y --split "$s" --out "$work/out.json"
    expect_rc 2
    expect_out "split"
  done
  expect_absent "$work/out.json" ;;
target_mismatch)
  toy
  train "$work/toy.json" --data "$work/toy.csv" --target y --epochs 1 --out "$work/trained.json"
  expect_rc 0
  run "$cli" eval "$work/trained.json" --data "$work/toy.csv" --target a
  expect_rc 2
  expect_out "--target a does not match the target column(s) .*trained.json was trained on: y"
  # A regression model takes as many target columns as it predicts.
  "$cli" new mlp --features 1 --task regression --targets 1 "$work/reg.json" >/dev/null || fail "new mlp"
  train "$work/reg.json" --data "$work/toy.csv" --target a,b --features y --out "$work/out.json"
  expect_rc 2
  expect_out "takes 1 target column, got 2"
  expect_absent "$work/out.json" ;;
predict_unwritable)
  toy
  train "$work/toy.json" --data "$work/toy.csv" --target y --epochs 1 --out "$work/trained.json"
  run "$cli" predict "$work/trained.json" --data "$work/toy.csv" --out "$work/no-such-folder/p.csv"
  expect_rc 2
  expect_out "--out $work/no-such-folder/p.csv: the folder $work/no-such-folder does not exist" ;;
*)
  fail "unknown case $case" ;;
esac
echo "PASS: $case"
