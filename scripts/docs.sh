#!/usr/bin/env bash
# The API reference: Doxygen over the public headers (docs/Doxyfile), HTML in
# build-docs/html/. Fails on any warning, so on any public class, function, enum, member,
# typedef or macro without a doc comment, and on a header plangrad.hpp includes that the
# Doxyfile does not read. Installs doxygen first when it is missing (scripts/setup.sh --docs).
#   scripts/docs.sh
set -euo pipefail
cd "$(dirname "$0")/.."

command -v doxygen >/dev/null 2>&1 || bash scripts/setup.sh --docs

# core/version.hpp is written by CMake's configure_file into the build tree; the same
# substitution here, from project(VERSION) in CMakeLists.txt, so that no build is needed.
version=$(sed -n 's/^project(plangrad VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
if [ -z "$version" ]; then
  echo "docs.sh: no 'project(plangrad VERSION x.y.z' line in CMakeLists.txt" >&2
  exit 1
fi
IFS=. read -r major minor patch <<<"$version"
mkdir -p build-docs/generated/core
sed -e "s/@PROJECT_VERSION@/$version/g" -e "s/@PROJECT_VERSION_MAJOR@/$major/g" \
    -e "s/@PROJECT_VERSION_MINOR@/$minor/g" -e "s/@PROJECT_VERSION_PATCH@/$patch/g" \
    core/version.hpp.in >build-docs/generated/core/version.hpp
if grep -n '@[A-Za-z_]*@' build-docs/generated/core/version.hpp >&2; then
  echo "docs.sh: core/version.hpp.in has a CMake variable this script does not substitute" >&2
  exit 1
fi

# The headers the Doxyfile reads (INPUT, up to its last continued line).
inputs=$(awk '/^INPUT / { on = 1; sub(/^INPUT *=/, "") }
              on { cont = sub(/\\$/, ""); for (i = 1; i <= NF; ++i) print $i; if (!cont) exit }' docs/Doxyfile)
missing=0
# Every header plangrad.hpp includes is public, so the Doxyfile must read it.
for header in $(sed -n 's/^#include "\(.*\)"$/\1/p' plangrad.hpp); do
  [ "$header" = core/version.hpp ] && header=build-docs/generated/core/version.hpp
  if ! grep -qxF "$header" <<<"$inputs"; then
    echo "docs.sh: plangrad.hpp includes $header, which docs/Doxyfile's INPUT does not list" >&2
    missing=1
  fi
done
# Doxygen checks a header's macros and file-level declarations only when the file itself
# is documented, so every header it reads opens with a \file comment.
for header in $inputs; do
  if [ ! -f "$header" ]; then
    echo "docs.sh: docs/Doxyfile reads $header, which does not exist" >&2
    missing=1
  elif ! grep -q '^/// \\file$' "$header"; then
    echo "docs.sh: $header has no '/// \\file' comment, without which Doxygen checks none of its macros" >&2
    missing=1
  fi
done
[ "$missing" -eq 0 ] || exit 1

rm -rf build-docs/html
# WARN_AS_ERROR = FAIL_ON_WARNINGS: every warning is printed, then the exit status is
# non-zero.
if ! PLANGRAD_VERSION=$version doxygen docs/Doxyfile; then
  echo "docs.sh: doxygen warned (above): a public declaration without a /// comment, or a comment it cannot read" >&2
  exit 1
fi
echo "docs.sh: the API reference is in $(pwd)/build-docs/html/index.html"
