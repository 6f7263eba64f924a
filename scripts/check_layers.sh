#!/usr/bin/env bash
# Fails on any #include "folder/..." that the layer table in DEVELOPERS.md does not allow:
# includes only go down the layers, never up or sideways; and on a public header without
# its export markers (below). CI runs it.
#   scripts/check_layers.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# What each folder's files may include (besides the C++ and third-party headers in <>).
declare -A allowed=(
  [core]="core"
  [kernels]="core kernels"
  [datasets]="core datasets"
  [cli]="core cli"
  [ops]="core kernels ops"
  [planner]="core ops planner"
  [engine]="core kernels ops planner datasets engine"
  [serialization]="core kernels ops planner datasets engine serialization"
  [networks]="core ops planner engine networks"
  [onnx]="core kernels ops planner engine serialization onnx"
  [distributed]="core engine distributed"
  [tools]="core kernels ops planner datasets cli engine serialization networks onnx distributed tools"
  [examples]="core kernels ops planner datasets cli engine serialization networks onnx examples"
  [bench]="core kernels ops planner datasets cli engine serialization networks onnx bench"
  [tests]="core kernels ops planner datasets cli engine serialization networks onnx distributed tests"
  [plangrad.hpp]="core kernels ops planner datasets engine serialization networks"
)

status=0
checked=0
while IFS= read -r file; do
  folder=${file%%/*}  # a file at the top (the umbrella header) is its own entry
  if [ -z "${allowed[$folder]+x}" ]; then
    echo "check_layers: $file is in no layer of the table (add its folder to scripts/check_layers.sh and DEVELOPERS.md)" >&2
    status=1
    continue
  fi
  while IFS=: read -r line target; do
    checked=$((checked + 1))
    dir=${target%%/*}
    if [ "$dir" = "$target" ]; then
      echo "check_layers: $file:$line: #include \"$target\" names no folder; write it from the repository's root" >&2
      status=1
    elif [[ " ${allowed[$folder]} " != *" $dir "* ]]; then
      echo "check_layers: $file:$line: $folder/ may not include $target ($folder/ may include: ${allowed[$folder]})" >&2
      status=1
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
             sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/' || true)
done < <(git ls-files '*.cpp' '*.hpp' '*.h' ':!:*/third_party/*')  # vendored headers keep their own includes

# The public headers -- plangrad.hpp, what it includes, and the data sets' -- mark what a
# shared library exports (core/visibility.hpp): one that declares anything in plangrad's
# namespace without the markers would leave its functions hidden, and a program calling
# them would not link.
queue=(plangrad.hpp datasets/circle.hpp datasets/idx.hpp datasets/csv.hpp onnx/onnx.hpp)
declare -A public=()
while [ ${#queue[@]} -gt 0 ]; do
  header=${queue[0]}
  queue=("${queue[@]:1}")
  [ -n "${public[$header]:-}" ] && continue
  public[$header]=1
  [ "$header" = core/version.hpp ] && continue
  if grep -q '^namespace plangrad' "$header" && ! grep -q '^PLANGRAD_PUBLIC_BEGIN$' "$header"; then
    echo "check_layers: $header is a public header without PLANGRAD_PUBLIC_BEGIN / END (core/visibility.hpp)" >&2
    status=1
  fi
  while read -r target; do queue+=("$target"); done < <(sed -n 's/^#include "\(.*\)"$/\1/p' "$header")
done

if [ "$status" -eq 0 ]; then
  echo "check_layers: $checked includes follow the layer table; ${#public[@]} public headers mark their exports"
fi
exit "$status"
