// A float32 GEMM for small matrices that needs no heap and never packs A: register-tiled
// kernels for the AVX-512 and AVX2 paths (kernels/small_gemm_tiles.hpp; the two give the
// same bits) and a plain C++ loop nest for the generic path (kernels/isa.hpp chooses).
// kernels/blas.cpp sends the float GEMMs below a size threshold here instead of OpenBLAS,
// whose packing costs more than the product itself at these sizes (bench/gemm_bench.cpp
// compares the two). Row-tiled products of more than one 32-column block and 2^21
// multiply-adds or more are split by column blocks between op_threads() threads
// (kernels/parallel.hpp), with the same bits as one thread.
#pragma once

#include "core/tensor.hpp"
#include "kernels/isa.hpp"

namespace plangrad {

// Same contract as gemm() in kernels/blas.hpp: C[M,N] = alpha * op(A) * op(B) + beta * C,
// row-major, contiguous; op(A) is [M,K] (A stored [K,M] when trans_a), op(B) is [K,N]
// (B stored [N,K] when trans_b). With beta == 0, C is not read (it may hold NaN).
// Deterministic: the summation order depends only on (trans_a, trans_b, M, N, K), not on
// the pointers' alignment. No heap allocation: op(B) is copied, transposed, into a fixed
// 32 KiB stack buffer when trans_b (in blocks) and when C is narrow (N <= 12, whole
// op(B) up to 8192 elements). Every operand is read within its bounds only.
// Runs the process's kernel path (kernel_isa()).
void small_sgemm(bool trans_a, bool trans_b, Dim M, Dim N, Dim K, float alpha, const float* A,
                 const float* B, float beta, float* C);

// small_sgemm on a given path, for the tests and benchmarks that compare them; the CPU
// must support it (cpu_supports).
void small_sgemm_on(Isa isa, bool trans_a, bool trans_b, Dim M, Dim N, Dim K, float alpha, const float* A,
                    const float* B, float beta, float* C);

// The generic path's loop nest; M, N, K > 0.
void small_sgemm_portable(bool trans_a, bool trans_b, Dim M, Dim N, Dim K, float alpha,
                          const float* A, const float* B, float beta, float* C);

#if PLANGRAD_KERNEL_DISPATCH
// The AVX-512 and AVX2 paths' kernels (kernels/small_gemm_avx512.cpp, _avx2.cpp); M, N, K > 0.
void small_sgemm_avx512(bool trans_a, bool trans_b, Dim M, Dim N, Dim K, float alpha, const float* A,
                        const float* B, float beta, float* C);
void small_sgemm_avx2(bool trans_a, bool trans_b, Dim M, Dim N, Dim K, float alpha, const float* A,
                      const float* B, float beta, float* C);
#endif

// True when small_sgemm runs the AVX-512 kernel in this process.
bool small_sgemm_uses_avx512();

}  // namespace plangrad
