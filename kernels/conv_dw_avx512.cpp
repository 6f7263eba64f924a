// conv_dw's AVX-512 tiles: kernels/conv_dw_tiles.hpp with V one zmm register, compiled
// for the avx512 path's target (kernels/isa.hpp) whatever the build's flags.
#include "kernels/conv_dw.hpp"

#if PLANGRAD_KERNEL_DISPATCH

#include <immintrin.h>

#define PLANGRAD_CONV_DW_FN __attribute__((target(PLANGRAD_TARGET_AVX512)))
#include "kernels/conv_dw_tiles.hpp"
#include "kernels/vec16.hpp"

namespace plangrad::conv_dw_detail {

namespace {

struct Zmm : vec16::Zmm {
  // 4 x 6 accumulators, 4 dy vectors and an xp vector: 29 of the 32 registers. Masked
  // loads cost several times a plain one here, so only the guarded chunks take them
  // (kernels/conv_dw_tiles.hpp); the other tail chunks mask the FMA or the flush.
  static constexpr int kRows = 4, kKs = 9, kAcc = 24;

  PLANGRAD_CONV_DW_FN static Reg fmadd_tail(Mask m, Reg a, Reg b, Reg c) { return _mm512_mask3_fmadd_ps(a, b, c, m); }
  PLANGRAD_CONV_DW_FN static Reg keep(Mask m, Reg x) { return _mm512_maskz_mov_ps(m, x); }
  // Masked (maskz) conversions and extractions: GCC 12 warns under -Wall about the unmasked
  // ones (their header code passes an "undefined" vector).
  PLANGRAD_CONV_DW_FN static double total(Reg x) {
    const __m512d lo = _mm512_maskz_cvtps_pd(0xFF, _mm512_maskz_extractf32x8_ps(0xFF, x, 0));
    const __m512d hi = _mm512_maskz_cvtps_pd(0xFF, _mm512_maskz_extractf32x8_ps(0xFF, x, 1));
    const __m512d s8 = _mm512_add_pd(lo, hi);
    const __m256d s4 =
        _mm256_add_pd(_mm512_maskz_extractf64x4_pd(0xF, s8, 0), _mm512_maskz_extractf64x4_pd(0xF, s8, 1));
    const __m128d s2 = _mm_add_pd(_mm256_extractf128_pd(s4, 0), _mm256_extractf128_pd(s4, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
  }
};

PLANGRAD_CONV_DW_FN TileFn pick_zmm(int mr, int nk) { return conv_dw_tiles::pick<Zmm>(mr, nk); }

}  // namespace

Tiles tiles_avx512() { return {Zmm::kRows, Zmm::kKs, Zmm::kAcc, &pick_zmm}; }

}  // namespace plangrad::conv_dw_detail

#endif  // PLANGRAD_KERNEL_DISPATCH
