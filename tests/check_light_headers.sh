#!/bin/sh
# The light-headers guard (test light_public_headers): compiles tests/light_user_program.cpp
# with -H, which lists every header opened, indented by include depth, and fails when any
# of them is xtensor's, xsimd's or nlohmann/json's, printing the chain of includes that
# reached it. XTENSOR_USE_XSIMD is defined as the library's own build defines it, so that
# a header reached only through xtensor's SIMD path is seen too.
#   tests/check_light_headers.sh CXX SOURCE_DIR [PROGRAM]
set -u
cxx=$1
root=$2
program=${3:-$root/tests/light_user_program.cpp}

listing=$("$cxx" -std=c++17 -DXTENSOR_USE_XSIMD -I"$root" -H -fsyntax-only "$program" 2>&1)
status=$?
if [ "$status" -ne 0 ]; then
  printf '%s\n' "$listing"
  echo "check_light_headers: $program does not compile" >&2
  exit 1
fi

# Each entry into a heavy header: the chain of includes from the program down to it.
entries=$(printf '%s\n' "$listing" | awk -v root="$root/" '
  function heavy(h) { return h ~ /\/(xtensor|xsimd|nlohmann)\// }
  /^\.+ / {
    depth = index($0, " ") - 1
    chain[depth] = substr($0, depth + 2)
    if (index(chain[depth], root) == 1) chain[depth] = substr(chain[depth], length(root) + 1)
    if (!heavy(chain[depth])) next
    count++
    for (d = 1; d < depth; ++d) if (heavy(chain[d])) next
    line = chain[1]
    for (d = 2; d <= depth; ++d) line = line " -> " chain[d]
    print line
  }
  END { print count + 0 }')
heavy_count=$(printf '%s\n' "$entries" | tail -n 1)
headers=$(printf '%s\n' "$listing" | grep -c '^\.\.* ')
if [ "$headers" -eq 0 ]; then
  printf '%s\n' "$listing"
  echo "check_light_headers: $cxx -H listed no headers; cannot check" >&2
  exit 1
fi
if [ "$heavy_count" -ne 0 ]; then
  printf '%s\n' "$entries" | sed '$d' | sed 's/^/check_light_headers: heavy include: /' >&2
  echo "check_light_headers: $heavy_count of $headers headers are xtensor's, xsimd's or nlohmann's; the public headers must not include them (core/xtensor_interop.hpp and serialization/checkpoint_json.hpp are the ones that may)" >&2
  exit 1
fi
echo "check_light_headers: $headers headers, none of xtensor, xsimd or nlohmann"
