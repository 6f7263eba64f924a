// small_sgemm's AVX2+FMA kernel: kernels/small_gemm_tiles.hpp with V two ymm registers
// (lanes 0-7 and 8-15), compiled for the avx2 path's target (kernels/isa.hpp). It computes
// the AVX-512 kernel's bits: the same sums in the same order, in smaller tiles.
#include "kernels/small_gemm.hpp"

#include "kernels/isa.hpp"

#if PLANGRAD_KERNEL_DISPATCH

#include <immintrin.h>

#define PLANGRAD_GEMM_FN __attribute__((target(PLANGRAD_TARGET_AVX2)))
#include "kernels/small_gemm_tiles.hpp"

namespace plangrad {

namespace {

using small_gemm_tiles::Idx;

struct Ymm2 {
  struct Reg {
    __m256 lo, hi;
  };
  // A lane is on when its sign bit is set (vmaskmovps). Masked loads and stores cost
  // more than plain ones: `all` (16 lanes on, the common case) takes the plain ones.
  struct Mask {
    __m256i lo, hi;
    bool all;
  };
  // Each V is two of the 16 registers: 6 x 1 (12) in a row tile, 4 (8) in a row-vector
  // pass, 2 x 2 (8) in a dot tile, 1 x 4 (8) in a column tile.
  static constexpr int kMaxRows = 6, kTileVecs = 1, kRowVecs = 4, kDotRows = 2, kDotCols = 2,
                       kColVecs = 1, kColCols = 4;

  PLANGRAD_GEMM_FN static Reg zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  PLANGRAD_GEMM_FN static Reg set1(float x) { return {_mm256_set1_ps(x), _mm256_set1_ps(x)}; }
  PLANGRAD_GEMM_FN static Mask lanes(Idx n) {
    const __m256i count = _mm256_set1_epi32(static_cast<int>(std::clamp<Idx>(n, 0, 16)));
    return {_mm256_cmpgt_epi32(count, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),
            _mm256_cmpgt_epi32(count, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15)), n >= 16};
  }
  PLANGRAD_GEMM_FN static Reg load(const Mask& m, const float* p) {
    if (m.all) return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)};
    return {_mm256_maskload_ps(p, m.lo), _mm256_maskload_ps(p + 8, m.hi)};
  }
  PLANGRAD_GEMM_FN static void store(const Mask& m, float* p, Reg x) {
    if (m.all) {
      _mm256_storeu_ps(p, x.lo);
      _mm256_storeu_ps(p + 8, x.hi);
      return;
    }
    _mm256_maskstore_ps(p, m.lo, x.lo);
    _mm256_maskstore_ps(p + 8, m.hi, x.hi);
  }
  PLANGRAD_GEMM_FN static void store_all(float* p, Reg x) {
    _mm256_storeu_ps(p, x.lo);
    _mm256_storeu_ps(p + 8, x.hi);
  }
  PLANGRAD_GEMM_FN static Reg mul(Reg a, Reg b) { return {_mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi)}; }
  PLANGRAD_GEMM_FN static Reg fmadd(Reg a, Reg b, Reg c) {
    return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
  }
  // Zmm::lane_sum's tree: lane j + lane j+8, then j^4, j^2, j^1.
  PLANGRAD_GEMM_FN static float lane_sum(Reg x) {
    const __m256 t = _mm256_add_ps(x.lo, x.hi);
    __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    u = _mm_add_ps(u, _mm_permute_ps(u, _MM_SHUFFLE(1, 0, 3, 2)));
    u = _mm_add_ps(u, _mm_permute_ps(u, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtss_f32(u);
  }
};

}  // namespace

void small_sgemm_avx2(bool trans_a, bool trans_b, Dim M, Dim N, Dim K, float alpha, const float* A,
                      const float* B, float beta, float* C) {
  const Idx m = static_cast<Idx>(M), n = static_cast<Idx>(N), k = static_cast<Idx>(K);
  if (trans_a)
    small_gemm_tiles::gemm<Ymm2, true>(trans_b, m, n, k, alpha, A, B, beta, C);
  else
    small_gemm_tiles::gemm<Ymm2, false>(trans_b, m, n, k, alpha, A, B, beta, C);
}

}  // namespace plangrad

#endif  // PLANGRAD_KERNEL_DISPATCH
