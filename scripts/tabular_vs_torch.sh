#!/usr/bin/env bash
# plangrad against the same recipes in PyTorch (scripts/torch_tabular.py) on the same
# train/test splits (split_rows by seed), seeds 1..N each, written as Markdown tables
# headed by the commit and the command (docs/tabular.md holds the output):
#   diabetes       examples/regression.cpp: test RMSE, MAE, R² in the target's units
#   wine           plangrad new mlp + plangrad train --split: held-out accuracy
#   breast cancer  the same, one logit
# Needs a build (build/plangrad, build/regression), scripts/prepare_data.sh's data/*.csv,
# and Debian's python3-torch (scripts/setup.sh --bench).
#   scripts/tabular_vs_torch.sh [SEEDS]    # default 5
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
seeds=${1:-5}
export OPENBLAS_NUM_THREADS=1
for f in build/plangrad build/regression; do
  [ -x "$f" ] || { echo "tabular_vs_torch.sh: $f missing; build first" >&2; exit 1; }
done
for f in diabetes wine breast_cancer; do
  [ -f "data/$f.csv" ] || { echo "tabular_vs_torch.sh: data/$f.csv missing; run scripts/prepare_data.sh" >&2; exit 1; }
done
torch=(/usr/bin/python3 scripts/torch_tabular.py)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The number after "KEY": in a JSON line.
figure() { sed -n "s/.*\"$1\": *\\([-0-9.e]*\\).*/\\1/p"; }

for s in $(seq 1 "$seeds"); do
  p=$(build/regression --seed "$s" | tail -n 1)
  t=$("${torch[@]}" --task regression --seed "$s")
  [ "$(echo "$p" | figure test_row_sum)" = "$(echo "$t" | figure test_row_sum)" ] ||
    { echo "tabular_vs_torch.sh: different test rows at seed $s" >&2; exit 1; }
  for k in test_rmse test_mae test_r2; do echo "$(echo "$p" | figure $k) $(echo "$t" | figure $k)" >>"$tmp/diabetes_$k"; done

  build/plangrad new mlp --features 13 --hidden 16 --task classification --classes 3 --seed "$s" "$tmp/wine$s.json" >/dev/null
  p=$(build/plangrad train "$tmp/wine$s.json" --data data/wine.csv --target class --split 0.2 --seed "$s" --standardize \
        --optimizer adam --lr 0.01 --epochs 30 --batch 16 --progress off --out "$tmp/wine$s.t.json" | tail -n 1)
  t=$("${torch[@]}" --task classification --data data/wine.csv --target class --hidden 16 --lr 0.01 --batch 16 --seed "$s")
  echo "$(echo "$p" | figure val_accuracy) $(echo "$t" | figure test_accuracy)" >>"$tmp/wine"

  build/plangrad new mlp --features 30 --hidden 16 --task binary --seed "$s" "$tmp/cancer$s.json" >/dev/null
  p=$(build/plangrad train "$tmp/cancer$s.json" --data data/breast_cancer.csv --target diagnosis --split 0.2 --seed "$s" \
        --standardize --optimizer adam --lr 0.001 --epochs 30 --batch 32 --progress off --out "$tmp/cancer$s.t.json" | tail -n 1)
  t=$("${torch[@]}" --task binary --data data/breast_cancer.csv --target diagnosis --hidden 16 --lr 0.001 --batch 32 \
        --seed "$s")
  echo "$(echo "$p" | figure val_accuracy) $(echo "$t" | figure test_accuracy)" >>"$tmp/cancer"
done

# A table row: the per-seed pairs "plangrad / PyTorch", then each one's mean ± sd.
row() {  # NAME FORMAT FILE
  awk -v name="$1" -v fmt="$2" '
    { a[NR] = $1; b[NR] = $2; cells = cells sprintf(" " fmt " / " fmt " |", $1, $2) }
    END { for (i = 1; i <= NR; ++i) { ma += a[i]; mb += b[i] } ma /= NR; mb /= NR
          for (i = 1; i <= NR; ++i) { va += (a[i] - ma) ^ 2; vb += (b[i] - mb) ^ 2 }
          sa = NR > 1 ? sqrt(va / (NR - 1)) : 0; sb = NR > 1 ? sqrt(vb / (NR - 1)) : 0
          printf "| %s |%s " fmt " ± " fmt " | " fmt " ± " fmt " |\n", name, cells, ma, sa, mb, sb }' "$3"
}
dirty=$(git diff --quiet HEAD -- . || echo " (with local changes)")
echo "Commit $(git rev-parse --short HEAD)$dirty, $(date -u +%Y-%m-%d), \`scripts/tabular_vs_torch.sh $seeds\`;"
echo "each cell plangrad / PyTorch, the same test rows:"
echo
header="| figure |"
rule="|---|"
for s in $(seq 1 "$seeds"); do header+=" seed $s |"; rule+="---|"; done
echo "$header plangrad mean ± sd | PyTorch mean ± sd |"
echo "$rule---|---|"
row "diabetes test RMSE" "%.2f" "$tmp/diabetes_test_rmse"
row "diabetes test MAE" "%.2f" "$tmp/diabetes_test_mae"
row "diabetes test R²" "%.3f" "$tmp/diabetes_test_r2"
row "wine accuracy" "%.3f" "$tmp/wine"
row "breast cancer accuracy" "%.3f" "$tmp/cancer"
