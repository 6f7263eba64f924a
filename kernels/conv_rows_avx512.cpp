// conv_rows' AVX-512 kernel: kernels/conv_rows_tiles.hpp with V one zmm register, compiled
// for the avx512 path's target (kernels/isa.hpp) whatever the build's flags.
#include "kernels/conv_rows.hpp"

#if PLANGRAD_KERNEL_DISPATCH

#include <immintrin.h>

#define PLANGRAD_CONV_ROWS_FN __attribute__((target(PLANGRAD_TARGET_AVX512)))
#include "kernels/conv_rows_tiles.hpp"

namespace plangrad {

namespace {

using conv_rows_tiles::Idx;

struct Zmm {
  using Reg = __m512;
  using Mask = __mmask16;
  // 8 x 2 accumulators, 2 vectors of B and a broadcast of A: 19 of the 32 registers (more
  // rows per tile measured no faster).
  static constexpr int kRows = 8, kVecs = 2;

  PLANGRAD_CONV_ROWS_FN static Reg zero() { return _mm512_setzero_ps(); }
  PLANGRAD_CONV_ROWS_FN static Reg set1(float x) { return _mm512_set1_ps(x); }
  PLANGRAD_CONV_ROWS_FN static Mask lanes(Idx n) {
    if (n <= 0) return 0;
    return n >= 16 ? Mask(0xFFFF) : Mask((1u << n) - 1u);
  }
  PLANGRAD_CONV_ROWS_FN static Reg load(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  PLANGRAD_CONV_ROWS_FN static void store(Mask m, float* p, Reg x) { _mm512_mask_storeu_ps(p, m, x); }
  PLANGRAD_CONV_ROWS_FN static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  PLANGRAD_CONV_ROWS_FN static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
};

}  // namespace

void conv_rows_avx512(const ConvRows& c) { conv_rows_tiles::run<Zmm>(c); }

void conv_rows_pad_avx512(const float* src, Dim planes, Dim h, Dim w, Dim ph, Dim pw, float* dst, bool borders) {
  conv_rows_tiles::pad<Zmm>(src, planes, h, w, ph, pw, dst, borders);
}

}  // namespace plangrad

#endif  // PLANGRAD_KERNEL_DISPATCH
