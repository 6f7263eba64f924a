#include "kernels/blas.hpp"

#include <algorithm>
#include <array>
#include <type_traits>
#include <xtensor-blas/xblas.hpp>
#include <xtensor/xadapt.hpp>

#include "kernels/small_gemm.hpp"

namespace plangrad {

namespace {

// Float GEMMs whose operands each hold at most this many elements (1 MiB of floats) go to
// small_sgemm (kernels/small_gemm.cpp) instead of OpenBLAS, whose packing of the operands
// costs more than it saves at these sizes. Past the bound OpenBLAS's packed kernel wins:
// small_sgemm does not pack B, so once B outgrows the L2 cache it streams from memory.
// bench/gemm_bench.cpp compares the two on both sides of the bound.
constexpr std::size_t kSmallGemmMaxOperand = std::size_t(1) << 18;

bool small_gemm_fits(std::size_t m, std::size_t n, std::size_t k) {
  return m * k <= kSmallGemmMaxOperand && k * n <= kSmallGemmMaxOperand &&
         m * n <= kSmallGemmMaxOperand;
}

// y[len op(Mat)] = alpha * op(Mat) * x + beta * y, Mat stored row-major [rows, cols],
// op(Mat) = Mat^T when trans. With beta == 0 y is zeroed first: the result then does not
// depend on whether the BLAS reads y (a NaN in y times 0 would stay NaN).
template <class T>
void gemv(bool trans, std::size_t rows, std::size_t cols, T alpha, const T* mat, const T* x,
          T beta, T* y) {
  using shape1 = std::array<std::size_t, 1>;
  using shape2 = std::array<std::size_t, 2>;
  const std::size_t x_len = trans ? rows : cols, y_len = trans ? cols : rows;
  if (beta == T(0)) std::fill(y, y + y_len, T(0));
  const auto a = xt::adapt(mat, rows * cols, xt::no_ownership(), shape2{rows, cols});
  const auto xv = xt::adapt(x, x_len, xt::no_ownership(), shape1{x_len});
  auto yv = xt::adapt(y, y_len, xt::no_ownership(), shape1{y_len});
  xt::blas::gemv(a, xv, yv, trans, alpha, beta);
}

}  // namespace

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
  // Small float products, matrix-vector ones included: OpenBLAS's sgemv splits even a
  // 784x256 matrix between threads, and waking them costs more than the split saves on a
  // product that small. Double stays on OpenBLAS.
  if constexpr (std::is_same_v<T, float>) {
    if (small_gemm_fits(m, n, k)) {
      small_sgemm(trans_a, trans_b, M, N, K, alpha, A, B, beta, C);
      return;
    }
  }
  // A matrix times a vector: cblas_?gemm would pack (copy) the whole matrix operand on
  // every call, which costs as much as the product itself; ?gemv reads it in place.
  if (M == 1) {  // C^T[N] = op(B)^T[N,K] * a[K]; a is contiguous either way (trans_a)
    if (trans_b)  // B stored [N,K]: op(B)^T is B
      gemv(false, n, k, alpha, B, A, beta, C);
    else  // B stored [K,N]
      gemv(true, k, n, alpha, B, A, beta, C);
    return;
  }
  if (N == 1) {  // C[M] = op(A)[M,K] * b[K]; b is contiguous either way (trans_b)
    if (trans_a)  // A stored [K,M]
      gemv(true, k, m, alpha, A, B, beta, C);
    else  // A stored [M,K]
      gemv(false, m, k, alpha, A, B, beta, C);
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
