// The GEMMs of a training step alone, through raw cblas_sgemm: the floor that the step's
// other work (element-wise kernels, im2col, batchnorm, the optimizer, the executor) sits
// on. Kept in its own translation unit: OpenBLAS's <cblas.h> cannot share one with
// xtensor-blas's headers (DESIGN.md, "Measured on this machine").
#include "bench/gemm_only.hpp"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <ctime>

namespace bench {

int blas_threads() { return openblas_get_num_threads(); }

namespace {

double thread_cpu_us() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) * 1e-3;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

GemmTiming time_gemms(const std::vector<GemmCall>& calls, int warmup, int iters) {
  struct Operands {
    std::vector<float> a, b, c;
  };
  std::vector<Operands> ops;
  for (const GemmCall& g : calls) {
    Operands o;
    o.a.assign(static_cast<std::size_t>(g.M) * static_cast<std::size_t>(g.K), 0.01f);
    o.b.assign(static_cast<std::size_t>(g.K) * static_cast<std::size_t>(g.N), 0.02f);
    o.c.assign(static_cast<std::size_t>(g.M) * static_cast<std::size_t>(g.N), 0.0f);
    ops.push_back(std::move(o));
  }
  auto pass = [&] {
    for (std::size_t i = 0; i < calls.size(); ++i) {
      const GemmCall& g = calls[i];
      Operands& o = ops[i];
      const int lda = g.trans_a ? g.M : g.K, ldb = g.trans_b ? g.K : g.N;
      for (int r = 0; r < g.count; ++r)
        cblas_sgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans,
                    g.trans_b ? CblasTrans : CblasNoTrans, g.M, g.N, g.K, 1.0f, o.a.data(), lda,
                    o.b.data(), ldb, 0.0f, o.c.data(), g.N);
    }
  };
  for (int i = 0; i < warmup; ++i) pass();
  std::vector<double> us, cpu;
  for (int i = 0; i < iters; ++i) {
    const double c0 = thread_cpu_us();
    const auto t0 = std::chrono::steady_clock::now();
    pass();
    const auto t1 = std::chrono::steady_clock::now();
    cpu.push_back(thread_cpu_us() - c0);
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return {median(us), median(cpu)};
}

}  // namespace bench
