// small_sgemm's AVX-512 kernel: kernels/small_gemm_tiles.hpp with V one zmm register,
// compiled for the avx512 path's target (kernels/isa.hpp) whatever the build's flags.
#include "kernels/small_gemm.hpp"

#include "kernels/isa.hpp"

#if PLANGRAD_KERNEL_DISPATCH

#include <immintrin.h>

#define PLANGRAD_GEMM_FN __attribute__((target(PLANGRAD_TARGET_AVX512)))
#include "kernels/small_gemm_tiles.hpp"
#include "kernels/vec16.hpp"

namespace plangrad {

namespace {

using small_gemm_tiles::Idx;

struct Zmm : vec16::Zmm {
  // 8 x 2 accumulators in a row tile, 8 in a row-vector pass, 4 x 4 in a dot tile and a
  // column tile: at most 16 of the 32 registers, the rest for operands.
  static constexpr int kMaxRows = 8, kTileVecs = 2, kRowVecs = 8, kDotRows = 4, kDotCols = 4,
                       kColVecs = 4, kColCols = 4;

  // The tree: lane j + lane j^8, then j^4, j^2, j^1 (Ymm2::lane_sum adds in the same
  // order). Masked (maskz) shuffles throughout: GCC 12 warns under -Wall about the
  // unmasked ones, _mm512_reduce_add_ps and the 512 -> 128 cast (their header code passes
  // an "undefined" vector).
  PLANGRAD_GEMM_FN static float lane_sum(Reg x) {
    x = _mm512_add_ps(x, _mm512_maskz_shuffle_f32x4(0xFFFF, x, x, _MM_SHUFFLE(1, 0, 3, 2)));
    x = _mm512_add_ps(x, _mm512_maskz_shuffle_f32x4(0xFFFF, x, x, _MM_SHUFFLE(2, 3, 0, 1)));
    x = _mm512_add_ps(x, _mm512_maskz_permute_ps(0xFFFF, x, _MM_SHUFFLE(1, 0, 3, 2)));
    x = _mm512_add_ps(x, _mm512_maskz_permute_ps(0xFFFF, x, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm512_cvtss_f32(x);
  }
};

}  // namespace

void small_sgemm_avx512(bool trans_a, bool trans_b, Dim M, Dim N, Dim K, float alpha, const float* A,
                        const float* B, float beta, float* C) {
  const Idx m = static_cast<Idx>(M), n = static_cast<Idx>(N), k = static_cast<Idx>(K);
  if (trans_a)
    small_gemm_tiles::gemm<Zmm, true>(trans_b, m, n, k, alpha, A, B, beta, C);
  else
    small_gemm_tiles::gemm<Zmm, false>(trans_b, m, n, k, alpha, A, B, beta, C);
}

}  // namespace plangrad

#endif  // PLANGRAD_KERNEL_DISPATCH
