#!/usr/bin/env bash
# Draws a training run's curves from its `plangrad train --log FILE` (one JSON object per
# epoch): the training and validation loss above, the training and validation accuracy
# below, against the epoch. Needs gnuplot (`scripts/setup.sh --plots` installs it).
#   scripts/plot_run.sh LOG.jsonl OUT.png [TITLE]
# TITLE defaults to the log's file name. Values a run did not record (null: no validation
# set, no logits) are left out of the picture.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: scripts/plot_run.sh LOG.jsonl OUT.png [TITLE]" >&2
  exit 2
fi
log=$1
out=$2
title=${3:-$(basename "$log")}
if [ ! -s "$log" ]; then
  echo "plot_run.sh: $log: missing or empty" >&2
  exit 1
fi
if ! command -v gnuplot >/dev/null 2>&1; then
  echo "plot_run.sh: gnuplot is missing; run scripts/setup.sh --plots as root" >&2
  exit 1
fi

data=$(mktemp)
trap 'rm -f "$data"' EXIT
# The log's lines are flat objects of numbers and nulls, as fit writes them: a key's value is
# the text between `"key":` and the next comma or brace. null -> NaN (gnuplot skips it).
awk '
  function field(key,   m, v) {
    if (!match($0, "\"" key "\":[^,}]*")) return "NaN"
    v = substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
    return v == "null" ? "NaN" : v
  }
  /^[[:space:]]*$/ { next }
  { print field("epoch"), field("loss"), field("val_loss"), field("train_accuracy"), field("val_accuracy"), field("lr") }
' "$log" > "$data"
if [ ! -s "$data" ]; then
  echo "plot_run.sh: $log: no epochs in it" >&2
  exit 1
fi
epochs=$(wc -l < "$data")

gnuplot <<EOF
set terminal pngcairo size 900,700 font "sans,10"
set output "$out"
set datafile missing "NaN"
set multiplot layout 2,1 title "${title//\"/\\\"} ($epochs epochs)"
set grid
set key top right
set xlabel "epoch"
set ylabel "loss"
set logscale y
plot "$data" using 1:2 with linespoints pt 7 ps 0.5 lw 2 title "train loss", \
     "$data" using 1:3 with linespoints pt 7 ps 0.5 lw 2 title "validation loss"
unset logscale y
set key bottom right
set ylabel "accuracy"
set yrange [*:1]
plot "$data" using 1:4 with linespoints pt 7 ps 0.5 lw 2 title "train accuracy", \
     "$data" using 1:5 with linespoints pt 7 ps 0.5 lw 2 title "validation accuracy"
unset multiplot
EOF
echo "$out ($(stat -c %s "$out") bytes, $epochs epochs)"
