#include "kernels/small_gemm.hpp"

#include <algorithm>
#include <cstddef>

#include "kernels/isa.hpp"

namespace plangrad {

namespace {

using Idx = std::ptrdiff_t;

// One row of C at a time, in blocks of kCols columns summed in a stack array over k.
void portable_gemm(bool trans_a, bool trans_b, Idx M, Idx N, Idx K, float alpha, const float* A,
                   const float* B, float beta, float* C) {
  constexpr Idx kCols = 64;
  float acc[kCols];
  for (Idx i = 0; i < M; ++i)
    for (Idx j0 = 0; j0 < N; j0 += kCols) {
      const Idx nb = std::min(kCols, N - j0);
      for (Idx j = 0; j < nb; ++j) acc[j] = 0.0f;
      for (Idx k = 0; k < K; ++k) {
        const float a = trans_a ? A[k * M + i] : A[i * K + k];
        if (trans_b) {  // B stored [N,K]
          const float* b = B + j0 * K + k;
          for (Idx j = 0; j < nb; ++j) acc[j] += a * b[j * K];
        } else {
          const float* b = B + k * N + j0;
          for (Idx j = 0; j < nb; ++j) acc[j] += a * b[j];
        }
      }
      float* c = C + i * N + j0;
      if (beta == 0.0f)  // C is not read: it may hold garbage
        for (Idx j = 0; j < nb; ++j) c[j] = alpha * acc[j];
      else
        for (Idx j = 0; j < nb; ++j) c[j] = alpha * acc[j] + beta * c[j];
    }
}

using Kernel = void (*)(bool, bool, Dim, Dim, Dim, float, const float*, const float*, float, float*);

Kernel kernel_for(Isa isa) {
#if PLANGRAD_KERNEL_DISPATCH
  if (isa == Isa::avx512) return &small_sgemm_avx512;
  if (isa == Isa::avx2) return &small_sgemm_avx2;
#else
  (void)isa;
#endif
  return &small_sgemm_portable;
}

}  // namespace

void small_sgemm_portable(bool trans_a, bool trans_b, Dim M, Dim N, Dim K, float alpha,
                          const float* A, const float* B, float beta, float* C) {
  portable_gemm(trans_a, trans_b, static_cast<Idx>(M), static_cast<Idx>(N), static_cast<Idx>(K),
                alpha, A, B, beta, C);
}

void small_sgemm_on(Isa isa, bool trans_a, bool trans_b, Dim M, Dim N, Dim K, float alpha, const float* A,
                    const float* B, float beta, float* C) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // an empty sum: C = beta C (A and B may be null; C is not read if beta == 0)
    for (Dim i = 0; i < M * N; ++i) C[i] = beta == 0.0f ? 0.0f : beta * C[i];
    return;
  }
  kernel_for(isa)(trans_a, trans_b, M, N, K, alpha, A, B, beta, C);
}

void small_sgemm(bool trans_a, bool trans_b, Dim M, Dim N, Dim K, float alpha, const float* A,
                 const float* B, float beta, float* C) {
  static const Kernel kernel = kernel_for(kernel_isa());
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    small_sgemm_on(Isa::generic, trans_a, trans_b, M, N, K, alpha, A, B, beta, C);
    return;
  }
  kernel(trans_a, trans_b, M, N, K, alpha, A, B, beta, C);
}

bool small_sgemm_uses_avx512() { return kernel_isa() == Isa::avx512; }

}  // namespace plangrad
