#!/usr/bin/env bash
# Writes the small tabular data sets that Debian's python3-sklearn ships as CSV files with a
# header row naming every column, which `plangrad train --data FILE.csv` reads:
#   wine.csv           178 wines, 13 measurements, "class" 0, 1 or 2 (three cultivars)
#   breast_cancer.csv  569 tumours, 30 measurements, "diagnosis" malignant or benign
#   diabetes.csv       442 patients, 10 measurements (raw units), "progression" a year later
#   digits.csv         1797 handwritten digits, 8x8 pixels "p0" .. "p63" (0 .. 16), "digit"
# No Python: the files are read as text. Used by scripts/prepare_data.sh (into data/) and by
# the tests (tests/cli/tabular.sh).
#   scripts/tabular_data.sh OUT_DIR [SKLEARN_DATA_DIR]
set -euo pipefail

out=$1
src=${2:-/usr/lib/python3/dist-packages/sklearn/datasets/data}
for f in wine_data.csv breast_cancer.csv diabetes_data_raw.csv.gz diabetes_target.csv.gz digits.csv.gz; do
  if [ ! -f "$src/$f" ]; then
    echo "tabular_data.sh: $src/$f is missing (is python3-sklearn installed? scripts/setup.sh --data)" >&2
    exit 1
  fi
done
mkdir -p "$out"

# scikit-learn's files open with a line "n_samples,n_features,class names..."; the rows
# follow, the class index last. Each file is written under a temporary name and renamed.
wine_header="alcohol,malic_acid,ash,alcalinity_of_ash,magnesium,total_phenols,flavanoids"
wine_header+=",nonflavanoid_phenols,proanthocyanins,color_intensity,hue,od280_od315,proline,class"
{ echo "$wine_header"; tail -n +2 "$src/wine_data.csv"; } >"$out/wine.csv.tmp"
mv "$out/wine.csv.tmp" "$out/wine.csv"

cancer_header=""
for stat in mean error worst; do
  for m in radius texture perimeter area smoothness compactness concavity concave_points symmetry \
           fractal_dimension; do
    cancer_header+="${stat}_${m},"
  done
done
{ echo "${cancer_header}diagnosis"
  tail -n +2 "$src/breast_cancer.csv" | sed -e 's/,0$/,malignant/' -e 's/,1$/,benign/'; } >"$out/breast_cancer.csv.tmp"
mv "$out/breast_cancer.csv.tmp" "$out/breast_cancer.csv"

# diabetes: space-separated features and one target per line, joined as CSV.
{ echo "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6,progression"
  paste -d' ' <(gzip -dc "$src/diabetes_data_raw.csv.gz") \
              <(gzip -dc "$src/diabetes_target.csv.gz" | awk '{ printf "%g\n", $1 }') | tr ' ' ','; } \
  >"$out/diabetes.csv.tmp"
mv "$out/diabetes.csv.tmp" "$out/diabetes.csv"

# digits: no header line; 64 pixels, then the digit.
{ for i in $(seq 0 63); do printf 'p%d,' "$i"; done; echo digit
  gzip -dc "$src/digits.csv.gz"; } >"$out/digits.csv.tmp"
mv "$out/digits.csv.tmp" "$out/digits.csv"
