#!/bin/sh
# The kernel paths compute what kernels/isa.hpp says they do: runs tests/isa_bits.cpp once
# per path this CPU supports (PLANGRAD_ISA) and compares its lines. Runs of class "all"
# must have the same hash on every path; runs of class "fma" the same hash on avx512 and
# avx2, and another one on generic (no FMA: which also shows that PLANGRAD_ISA=generic
# really changed the path); runs of class "conv" another hash on avx512 than on avx2
# (conv_dw against im2col + GEMM) and on generic than on avx2 (no FMA).
#
#   isa_bits.sh ISA_BITS WORKDIR [RUNNER...]
#
# RUNNER (e.g. qemu-x86_64 -cpu Haswell) runs the program under an emulator.
set -u
bin=$1 work=$2
shift 2
mkdir -p "$work"
. "$(dirname "$0")/lib.sh"

paths=$("$@" "$bin" --paths) || fail "isa_bits --paths failed"
echo "paths this CPU supports: $(echo $paths)"
for p in $paths; do
  PLANGRAD_ISA=$p "$@" "$bin" > "$work/$p.txt" || fail "isa_bits failed on path $p"
  head -1 "$work/$p.txt" | grep -qx "path $p" || fail "PLANGRAD_ISA=$p ran $(head -1 "$work/$p.txt")"
  echo "== $p"
  sed 1d "$work/$p.txt"
done

ref=
for p in avx512 avx2; do
  [ -f "$work/$p.txt" ] || continue
  if [ -z "$ref" ]; then ref=$p; continue; fi
  sed 1d "$work/$ref.txt" | grep -v ' conv ' > "$work/a" && sed 1d "$work/$p.txt" | grep -v ' conv ' > "$work/b"
  diff "$work/a" "$work/b" || fail "$p and $ref differ"
  grep ' conv ' "$work/$ref.txt" | sort > "$work/a" && grep ' conv ' "$work/$p.txt" | sort > "$work/b"
  [ -s "$work/a" ] || fail "no conv runs"
  same=$(comm -12 "$work/a" "$work/b")
  [ -z "$same" ] || fail "$p gives $ref's bits on conv runs (conv_dw runs on avx512 only): $same"
done
if [ -f "$work/avx2.txt" ] && [ -f "$work/generic.txt" ]; then
  grep ' conv ' "$work/avx2.txt" | sort > "$work/a" && grep ' conv ' "$work/generic.txt" | sort > "$work/b"
  same=$(comm -12 "$work/a" "$work/b")
  [ -z "$same" ] || fail "generic gives avx2's bits on conv runs: $same"
fi
if [ -n "$ref" ] && [ -f "$work/generic.txt" ]; then
  grep ' all ' "$work/$ref.txt" > "$work/a" && grep ' all ' "$work/generic.txt" > "$work/b"
  diff "$work/a" "$work/b" || fail "element-wise runs differ between generic and $ref"
  grep ' fma ' "$work/$ref.txt" | sort > "$work/a" && grep ' fma ' "$work/generic.txt" | sort > "$work/b"
  [ -s "$work/a" ] || fail "no fma runs"
  same=$(comm -12 "$work/a" "$work/b")
  [ -z "$same" ] || fail "generic gives $ref's bits on GEMM runs (did PLANGRAD_ISA=generic change the path?): $same"
fi
echo "isa_bits: paths agree"
