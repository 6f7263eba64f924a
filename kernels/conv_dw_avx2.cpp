// conv_dw's AVX2+FMA tiles: kernels/conv_dw_tiles.hpp with V two ymm registers (lanes 0-7
// and 8-15), compiled for the avx2 path's target (kernels/isa.hpp). The same sums in the
// same order as the AVX-512 tiles, in smaller tiles: the same bits.
#include "kernels/conv_dw.hpp"

#if PLANGRAD_KERNEL_DISPATCH

#include <immintrin.h>

#define PLANGRAD_CONV_DW_FN __attribute__((target(PLANGRAD_TARGET_AVX2)))
#include "kernels/conv_dw_tiles.hpp"
#include "kernels/vec16.hpp"

namespace plangrad::conv_dw_detail {

namespace {

struct Ymm2 : vec16::Ymm2 {
  // 2 x 2 accumulators (8 ymm), 2 dy vectors (4) and an xp vector (2) of the 16.
  static constexpr int kRows = 2, kKs = 4, kAcc = 4;

  PLANGRAD_CONV_DW_FN static Reg fmadd_tail(const Mask& m, Reg a, Reg b, Reg c) {
    return {_mm256_blendv_ps(c.lo, _mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_castsi256_ps(m.lo)),
            _mm256_blendv_ps(c.hi, _mm256_fmadd_ps(a.hi, b.hi, c.hi), _mm256_castsi256_ps(m.hi))};
  }
  PLANGRAD_CONV_DW_FN static Reg keep(const Mask& m, Reg x) {
    return {_mm256_and_ps(x.lo, _mm256_castsi256_ps(m.lo)), _mm256_and_ps(x.hi, _mm256_castsi256_ps(m.hi))};
  }
  // Zmm::total's tree: lanes 0-3 are lo's low half, 4-7 its high half, 8-11 and 12-15 hi's.
  PLANGRAD_CONV_DW_FN static double total(Reg x) {
    const __m256d l0 = _mm256_cvtps_pd(_mm256_castps256_ps128(x.lo));
    const __m256d l4 = _mm256_cvtps_pd(_mm256_extractf128_ps(x.lo, 1));
    const __m256d l8 = _mm256_cvtps_pd(_mm256_castps256_ps128(x.hi));
    const __m256d l12 = _mm256_cvtps_pd(_mm256_extractf128_ps(x.hi, 1));
    const __m256d s4 = _mm256_add_pd(_mm256_add_pd(l0, l8), _mm256_add_pd(l4, l12));
    const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
  }
};

PLANGRAD_CONV_DW_FN TileFn pick_ymm2(int mr, int nk) { return conv_dw_tiles::pick<Ymm2>(mr, nk); }

}  // namespace

Tiles tiles_avx2() { return {Ymm2::kRows, Ymm2::kKs, Ymm2::kAcc, &pick_ymm2}; }

}  // namespace plangrad::conv_dw_detail

#endif  // PLANGRAD_KERNEL_DISPATCH
