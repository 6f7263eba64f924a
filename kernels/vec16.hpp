// The vector of 16 floats that the register tiles of small_sgemm, conv_rows and conv_dw
// are written over (kernels/*_tiles.hpp): one zmm register on the AVX-512 path, two ymm
// registers (lanes 0-7 and 8-15) on the AVX2 path. These are the operations they share;
// each kernel's file derives its V from one of them, adding its tile sizes and the
// operations only it uses. Every function is compiled for its path's target whatever the
// build's flags, as the tiles that inline it are.
//
// lanes(n): the first n lanes on (none for n <= 0, all for n >= 16); load(m, p) reads only
// the lanes on (the others are 0), store(m, p, x) writes only those; load_all and
// store_all all 16; fmadd(a, b, c) is a * b + c rounded once.
#pragma once

#include "kernels/isa.hpp"

#if PLANGRAD_KERNEL_DISPATCH

#include <immintrin.h>

#include <algorithm>
#include <cstddef>

#define PLANGRAD_VEC16_AVX512 __attribute__((target(PLANGRAD_TARGET_AVX512)))
#define PLANGRAD_VEC16_AVX2 __attribute__((target(PLANGRAD_TARGET_AVX2)))

namespace plangrad::vec16 {

using Idx = std::ptrdiff_t;

struct Zmm {
  using Reg = __m512;
  using Mask = __mmask16;

  PLANGRAD_VEC16_AVX512 static Reg zero() { return _mm512_setzero_ps(); }
  PLANGRAD_VEC16_AVX512 static Reg set1(float x) { return _mm512_set1_ps(x); }
  PLANGRAD_VEC16_AVX512 static Mask lanes(Idx n) {
    if (n <= 0) return 0;
    return n >= 16 ? Mask(0xFFFF) : Mask((1u << n) - 1u);
  }
  PLANGRAD_VEC16_AVX512 static Reg load(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  PLANGRAD_VEC16_AVX512 static Reg load_all(const float* p) { return _mm512_loadu_ps(p); }
  PLANGRAD_VEC16_AVX512 static void store(Mask m, float* p, Reg x) { _mm512_mask_storeu_ps(p, m, x); }
  PLANGRAD_VEC16_AVX512 static void store_all(float* p, Reg x) { _mm512_storeu_ps(p, x); }
  PLANGRAD_VEC16_AVX512 static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  PLANGRAD_VEC16_AVX512 static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  PLANGRAD_VEC16_AVX512 static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
};

struct Ymm2 {
  struct Reg {
    __m256 lo, hi;
  };
  // A lane is on when its sign bit is set (vmaskmovps). Masked loads and stores cost more
  // than plain ones: `all` (16 lanes on, the common case) takes the plain ones.
  struct Mask {
    __m256i lo, hi;
    bool all;
  };

  PLANGRAD_VEC16_AVX2 static Reg zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  PLANGRAD_VEC16_AVX2 static Reg set1(float x) { return {_mm256_set1_ps(x), _mm256_set1_ps(x)}; }
  PLANGRAD_VEC16_AVX2 static Mask lanes(Idx n) {
    const __m256i count = _mm256_set1_epi32(static_cast<int>(std::clamp<Idx>(n, 0, 16)));
    return {_mm256_cmpgt_epi32(count, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),
            _mm256_cmpgt_epi32(count, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15)), n >= 16};
  }
  PLANGRAD_VEC16_AVX2 static Reg load(const Mask& m, const float* p) {
    if (m.all) return load_all(p);
    return {_mm256_maskload_ps(p, m.lo), _mm256_maskload_ps(p + 8, m.hi)};
  }
  PLANGRAD_VEC16_AVX2 static Reg load_all(const float* p) { return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
  PLANGRAD_VEC16_AVX2 static void store(const Mask& m, float* p, Reg x) {
    if (m.all) return store_all(p, x);
    _mm256_maskstore_ps(p, m.lo, x.lo);
    _mm256_maskstore_ps(p + 8, m.hi, x.hi);
  }
  PLANGRAD_VEC16_AVX2 static void store_all(float* p, Reg x) {
    _mm256_storeu_ps(p, x.lo);
    _mm256_storeu_ps(p + 8, x.hi);
  }
  PLANGRAD_VEC16_AVX2 static Reg add(Reg a, Reg b) { return {_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)}; }
  PLANGRAD_VEC16_AVX2 static Reg mul(Reg a, Reg b) { return {_mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi)}; }
  PLANGRAD_VEC16_AVX2 static Reg fmadd(Reg a, Reg b, Reg c) {
    return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
  }
};

}  // namespace plangrad::vec16

#endif  // PLANGRAD_KERNEL_DISPATCH
