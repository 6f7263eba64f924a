// conv_rows' AVX2+FMA kernel: kernels/conv_rows_tiles.hpp with V two ymm registers (lanes
// 0-7 and 8-15), compiled for the avx2 path's target (kernels/isa.hpp). The AVX-512
// kernel's bits in smaller tiles.
#include "kernels/conv_rows.hpp"

#if PLANGRAD_KERNEL_DISPATCH

#include <immintrin.h>

#define PLANGRAD_CONV_ROWS_FN __attribute__((target(PLANGRAD_TARGET_AVX2)))
#include "kernels/conv_rows_tiles.hpp"
#include "kernels/vec16.hpp"

namespace plangrad {

namespace {

using conv_rows_tiles::Idx;

// vec16::Ymm2 with a mask that knows each half: a half with all 8 lanes on (lo_all,
// hi_all) takes the plain load and store, as a 12-wide row's last vector's low half does.
struct Ymm2 : vec16::Ymm2 {
  struct Mask {
    __m256i lo, hi;
    bool lo_all, hi_all;
  };
  // 6 x 1 accumulators (12 of the 16 registers), B and a broadcast of A.
  static constexpr int kRows = 6, kVecs = 1;

  PLANGRAD_CONV_ROWS_FN static Mask lanes(Idx n) {
    const __m256i count = _mm256_set1_epi32(static_cast<int>(std::clamp<Idx>(n, 0, 16)));
    return {_mm256_cmpgt_epi32(count, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),
            _mm256_cmpgt_epi32(count, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15)), n >= 8, n >= 16};
  }
  PLANGRAD_CONV_ROWS_FN static Reg load(const Mask& m, const float* p) {
    if (m.hi_all) return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)};
    if (m.lo_all) return {_mm256_loadu_ps(p), _mm256_maskload_ps(p + 8, m.hi)};
    return {_mm256_maskload_ps(p, m.lo), _mm256_maskload_ps(p + 8, m.hi)};
  }
  PLANGRAD_CONV_ROWS_FN static void store(const Mask& m, float* p, Reg x) {
    if (m.lo_all)
      _mm256_storeu_ps(p, x.lo);
    else
      _mm256_maskstore_ps(p, m.lo, x.lo);
    if (m.hi_all)
      _mm256_storeu_ps(p + 8, x.hi);
    else
      _mm256_maskstore_ps(p + 8, m.hi, x.hi);
  }
};

}  // namespace

void conv_rows_avx2(const ConvRows& c) { conv_rows_tiles::run<Ymm2>(c); }

void conv_rows_pad_avx2(const float* src, Dim planes, Dim h, Dim w, Dim ph, Dim pw, float* dst, bool borders) {
  conv_rows_tiles::pad<Ymm2>(src, planes, h, w, ph, pw, dst, borders);
}

}  // namespace plangrad

#endif  // PLANGRAD_KERNEL_DISPATCH
