// Raw cblas_sgemm timing for bench_workloads (bench/gemm_only.cpp): the GEMMs of a step
// alone, without the engine around them.
#pragma once

#include <vector>

namespace bench {

// C[M,N] = op(A)[M,K] op(B)[K,N], row-major, beta = 0; `count` calls of this shape per step.
struct GemmCall {
  bool trans_a = false, trans_b = false;
  int M = 0, N = 0, K = 0;
  int count = 1;
};

// 2 M N K summed over the calls.
inline double gemm_flops(const std::vector<GemmCall>& calls) {
  double f = 0;
  for (const GemmCall& g : calls) f += 2.0 * g.M * g.N * g.K * g.count;
  return f;
}

struct GemmTiming {
  double wall_us = 0, cpu_us = 0;  // medians per pass; cpu: this thread's CPU time
};

// One pass over `calls` (each on its own preallocated operands), timed `iters` times after
// `warmup` untimed passes.
GemmTiming time_gemms(const std::vector<GemmCall>& calls, int warmup, int iters);

// The number of threads OpenBLAS runs with (OPENBLAS_NUM_THREADS).
int blas_threads();

}  // namespace bench
