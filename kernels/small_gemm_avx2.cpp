// small_sgemm's AVX2+FMA kernel: kernels/small_gemm_tiles.hpp with V two ymm registers
// (lanes 0-7 and 8-15), compiled for the avx2 path's target (kernels/isa.hpp). It computes
// the AVX-512 kernel's bits: the same sums in the same order, in smaller tiles.
#include "kernels/small_gemm.hpp"

#include "kernels/isa.hpp"

#if PLANGRAD_KERNEL_DISPATCH

#include <immintrin.h>

#define PLANGRAD_GEMM_FN __attribute__((target(PLANGRAD_TARGET_AVX2)))
#include "kernels/small_gemm_tiles.hpp"
#include "kernels/vec16.hpp"

namespace plangrad {

namespace {

using small_gemm_tiles::Idx;

struct Ymm2 : vec16::Ymm2 {
  // Each V is two of the 16 registers: 6 x 1 (12) in a row tile, 4 (8) in a row-vector
  // pass, 2 x 2 (8) in a dot tile, 1 x 4 (8) in a column tile.
  static constexpr int kMaxRows = 6, kTileVecs = 1, kRowVecs = 4, kDotRows = 2, kDotCols = 2,
                       kColVecs = 1, kColCols = 4;

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
