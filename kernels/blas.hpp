// GEMM on row-major arena memory through xtensor-blas (OpenBLAS underneath).
#pragma once

#include "core/tensor.hpp"

namespace plangrad {

// C[M,N] = alpha * op(A) * op(B) + beta * C, row-major, contiguous operands:
// op(A) is [M,K] (A is stored [K,M] when trans_a), op(B) is [K,N] (B stored [N,K] when
// trans_b). With beta == 0, C is not read (it may hold garbage, even NaN).
template <class T>
void gemm(bool trans_a, bool trans_b, Dim M, Dim N, Dim K, T alpha, const T* A, const T* B,
          T beta, T* C);

}  // namespace plangrad
