#!/usr/bin/env bash
# Trains the circle example and draws its decision boundary with gnuplot: the regions the
# model calls inside / outside, the true circle, the training points (filled) and the test
# points (open), and every misclassified point marked with a red cross.
#   scripts/plot_circle.sh OUT.png [circle flags, e.g. --recipe paper-bn --seed 2]
# Needs a build (build/circle) and gnuplot (scripts/setup.sh --plots).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 1 ]; then
  echo "usage: $0 OUT.png [circle flags]" >&2
  exit 2
fi
out=$1
shift
circle=${CIRCLE:-$root/build/circle}
[ -x "$circle" ] || { echo "$0: no circle program at $circle; build it first (scripts/build.sh plangrad_circle)" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "$0: gnuplot is missing (scripts/setup.sh --plots)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
summary=$("$circle" "$@" --plot-data "$tmp" | tail -n 1)
title=$(echo "$summary" | sed -n 's/.*"recipe":"\([a-z-]*\)".*"test_accuracy":\([0-9.]*\).*/circle, recipe \1: test accuracy \2/p')
gnuplot <<GNUPLOT
set terminal pngcairo size 760,760 font "DejaVu Sans,11"
set output "$out.tmp.png"
set title "$title"
set xrange [0:1]
set yrange [0:1]
set size square
unset colorbox
set palette defined (0 "#f6e3cc", 1 "#d6e4f5")
set object 1 circle at 0.5,0.5 size 0.3989422804 front fillstyle empty border lc rgb "#333333" lw 1.5
set key outside bottom center horizontal
plot "$tmp/boundary.dat" using 1:2:(\$3 > 0 ? 1 : 0) with image notitle, \
     "$tmp/points.dat" using 1:((\$4 == 0 && \$3 == 0) ? \$2 : 1/0) with points pt 7 ps 0.45 lc rgb "#c0651b" title "train, outside", \
     "" using 1:((\$4 == 0 && \$3 == 1) ? \$2 : 1/0) with points pt 7 ps 0.45 lc rgb "#1f5fa8" title "train, inside", \
     "" using 1:((\$4 == 1 && \$3 == 0) ? \$2 : 1/0) with points pt 6 ps 0.55 lc rgb "#c0651b" title "test, outside", \
     "" using 1:((\$4 == 1 && \$3 == 1) ? \$2 : 1/0) with points pt 6 ps 0.55 lc rgb "#1f5fa8" title "test, inside", \
     "" using 1:(\$5 == 0 ? \$2 : 1/0) with points pt 2 ps 1.2 lw 2 lc rgb "#d62728" title "misclassified"
GNUPLOT
mv "$out.tmp.png" "$out"
echo "$summary"
echo "wrote $out"
