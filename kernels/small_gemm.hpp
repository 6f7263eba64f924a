// A float32 GEMM for small matrices that needs no heap and never packs A: register-tiled
// AVX-512 (when the build targets it; a plain C++ loop nest otherwise). Three tile kinds:
// rows of C by 32 columns (vectors along N); for narrow C (N <= 12), dot products (vectors
// along K, A not transposed) or columns of C by 4 (vectors along M, A transposed).
// kernels/blas.cpp sends the float GEMMs below a size threshold here instead of OpenBLAS,
// whose packing costs more than the product itself at these sizes (bench/gemm_bench.cpp
// compares the two). Row-tiled products of more than one 32-column block and 2^21
// multiply-adds or more are split by column blocks between op_threads() threads
// (kernels/parallel.hpp), with the same bits as one thread.
#pragma once

#include "core/tensor.hpp"

namespace plangrad {

// Same contract as gemm() in kernels/blas.hpp: C[M,N] = alpha * op(A) * op(B) + beta * C,
// row-major, contiguous; op(A) is [M,K] (A stored [K,M] when trans_a), op(B) is [K,N]
// (B stored [N,K] when trans_b). With beta == 0, C is not read (it may hold NaN).
// Deterministic: the summation order depends only on (trans_a, trans_b, M, N, K), not on
// the pointers' alignment. No heap allocation: op(B) is copied, transposed, into a fixed
// 32 KiB stack buffer when trans_b (in blocks) and when C is narrow (N <= 12, whole
// op(B) up to 8192 elements). Every operand is read within its bounds only.
void small_sgemm(bool trans_a, bool trans_b, Dim M, Dim N, Dim K, float alpha, const float* A,
                 const float* B, float beta, float* C);

// The portable loop nest (what small_sgemm runs without AVX-512); exposed for the tests.
void small_sgemm_portable(bool trans_a, bool trans_b, Dim M, Dim N, Dim K, float alpha,
                          const float* A, const float* B, float beta, float* C);

// True when small_sgemm runs the AVX-512 kernel in this build.
bool small_sgemm_uses_avx512();

}  // namespace plangrad
