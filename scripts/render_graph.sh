#!/usr/bin/env bash
# Draws a built-in example graph for the README: docs/<name>.dot from `plangrad dot
# --builtin NAME` and docs/<name>.png from Graphviz (`scripts/setup.sh --plots` installs it).
#   scripts/render_graph.sh [NAME] [PLANGRAD]
# NAME defaults to mnist-cnn; PLANGRAD (the program) defaults to build/plangrad, built when
# it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

name=${1:-mnist-cnn}
plangrad=${2:-build/plangrad}
if ! command -v dot >/dev/null 2>&1; then
  echo "render_graph.sh: Graphviz's dot is missing; run scripts/setup.sh --plots as root" >&2
  exit 1
fi
if [ ! -x "$plangrad" ]; then
  bash scripts/build.sh plangrad_cli >/dev/null
fi

"$plangrad" dot --builtin "$name" > "docs/$name.dot"
# 96 dpi keeps the picture readable on GitHub and well under 200 KB.
dot -Tpng -Gdpi=96 "docs/$name.dot" -o "docs/$name.png"
echo "docs/$name.dot  docs/$name.png ($(stat -c %s "docs/$name.png") bytes)"
