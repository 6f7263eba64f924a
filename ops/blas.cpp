#include "ops/blas.hpp"

#include <array>
#include <xtensor-blas/xblas.hpp>
#include <xtensor/xadapt.hpp>

namespace plangrad {

template <class T>
void gemm(bool trans_a, bool trans_b, Dim M, Dim N, Dim K, T alpha, const T* A, const T* B,
          T beta, T* C) {
  if (M == 0 || N == 0) return;
  using shape2 = std::array<std::size_t, 2>;
  const auto m = static_cast<std::size_t>(M), n = static_cast<std::size_t>(N),
             k = static_cast<std::size_t>(K);
  if (K == 0) {  // an empty sum: C = beta * C, and C is not read when beta == 0
    for (std::size_t i = 0; i < m * n; ++i) C[i] = beta == T(0) ? T(0) : beta * C[i];
    return;
  }
  // Views onto the caller's memory: xt::blas::gemm passes their pointers and leading
  // strides straight to cblas_?gemm, with no copy.
  const auto a = xt::adapt(A, m * k, xt::no_ownership(), trans_a ? shape2{k, m} : shape2{m, k});
  const auto b = xt::adapt(B, k * n, xt::no_ownership(), trans_b ? shape2{n, k} : shape2{k, n});
  auto c = xt::adapt(C, m * n, xt::no_ownership(), shape2{m, n});
  xt::blas::gemm(a, b, c, trans_a, trans_b, alpha, beta);
}

template void gemm<float>(bool, bool, Dim, Dim, Dim, float, const float*, const float*, float,
                          float*);
template void gemm<double>(bool, bool, Dim, Dim, Dim, double, const double*, const double*,
                           double, double*);

}  // namespace plangrad
