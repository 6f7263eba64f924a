// bench_gemm: small_sgemm (kernels/small_gemm.cpp) against OpenBLAS's cblas_sgemm (and
// cblas_sgemv where M or N is 1, which is what kernels/blas.cpp calls there) on the GEMM shapes
// of the benchmark workloads (bench/workloads.cpp: W1, W3, W4, W5). One thread, beta = 0,
// median time per call over repeated batches of calls; prints GFLOP/s and the max relative
// difference between the two results.
//   bench_gemm [--reps N] [M N K ta tb ...]   (extra shapes: five numbers each)
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/small_gemm.hpp"

namespace {

struct Shape {
  const char* tag;
  bool ta, tb;
  int M, N, K;
};

double median_ns_per_call(const std::function<void()>& f, int reps) {
  // Calls per timed batch: about 20 us of work, at least 1.
  auto t0 = std::chrono::steady_clock::now();
  f();
  auto t1 = std::chrono::steady_clock::now();
  const double one = std::max(1.0, std::chrono::duration<double, std::nano>(t1 - t0).count());
  const int batch = std::max(1, static_cast<int>(20000.0 / one));
  for (int i = 0; i < batch * 3; ++i) f();  // warm-up
  std::vector<double> v;
  for (int r = 0; r < reps; ++r) {
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < batch; ++i) f();
    t1 = std::chrono::steady_clock::now();
    v.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / batch);
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 201;
  std::vector<Shape> shapes = {
      // W1: MLP 2-25-25-25-2, batch 100 (forward NN, dx NT, dW TN)
      {"W1 fwd", false, false, 100, 25, 2},   {"W1 fwd", false, false, 100, 25, 25},
      {"W1 fwd", false, false, 100, 2, 25},   {"W1 dx", false, true, 100, 25, 25},
      {"W1 dx", false, true, 100, 25, 2},     {"W1 dW", true, false, 2, 25, 100},
      {"W1 dW", true, false, 25, 25, 100},    {"W1 dW", true, false, 25, 2, 100},
      // W3: MLP 784-256-128-10, batch 128
      {"W3 fwd", false, false, 128, 256, 784}, {"W3 fwd", false, false, 128, 128, 256},
      {"W3 fwd", false, false, 128, 10, 128},  {"W3 dx", false, true, 128, 256, 128},
      {"W3 dx", false, true, 128, 128, 10},    {"W3 dW", true, false, 784, 256, 128},
      {"W3 dW", true, false, 256, 128, 128},   {"W3 dW", true, false, 128, 10, 128},
      // W4: MNIST CNN, per image (x128 per step) and the dense layer
      {"W4 conv16", false, false, 16, 784, 9},  {"W4 dw16", false, true, 16, 9, 784},
      {"W4 conv32", false, false, 32, 196, 144}, {"W4 dw32", false, true, 32, 144, 196},
      {"W4 dcol32", true, false, 144, 196, 32},  {"W4 fwd", false, false, 128, 10, 1568},
      {"W4 dW", true, false, 1568, 10, 128},     {"W4 dx", false, true, 128, 1568, 10},
      // W5: batch 1 (M = 1: kernels/blas.cpp calls sgemv)
      {"W5 mlp", false, false, 1, 256, 784},  {"W5 mlp", false, false, 1, 128, 256},
      {"W5 mlp", false, false, 1, 10, 128},   {"W5 cnn", false, false, 1, 10, 1568},
  };
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (i + 4 < argc) {
      if (shapes.size() == 28) shapes.clear();
      shapes.push_back({"arg", std::atoi(argv[i + 3]) != 0, std::atoi(argv[i + 4]) != 0,
                        std::atoi(argv[i]), std::atoi(argv[i + 1]), std::atoi(argv[i + 2])});
      i += 4;
    } else {
      std::fprintf(stderr, "usage: bench_gemm [--reps N] [M N K ta tb ...]\n");
      return 2;
    }
  }
  std::printf("small_sgemm: %s; OpenBLAS %s\n",
              plangrad::small_sgemm_uses_avx512() ? "AVX-512" : "portable", openblas_get_config());
  std::printf("%-10s %2s %2s %5s %5s %5s | %9s %7s | %9s %7s | %6s %9s\n", "shape", "ta", "tb",
              "M", "N", "K", "blas ns", "GFLOP/s", "small ns", "GFLOP/s", "speed", "max rel");
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const Shape& s : shapes) {
    const std::size_t m = s.M, n = s.N, k = s.K;
    std::vector<float> a(m * k), b(k * n), c1(m * n), c2(m * n);
    for (float& x : a) x = u(rng);
    for (float& x : b) x = u(rng);
    const int lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
    std::function<void()> blas;
    if (s.M == 1) {  // C^T = op(B)^T a, as kernels/blas.cpp
      blas = [&] {
        cblas_sgemv(CblasRowMajor, s.tb ? CblasNoTrans : CblasTrans, s.tb ? s.N : s.K,
                    s.tb ? s.K : s.N, 1.0f, b.data(), ldb, a.data(), 1, 0.0f, c1.data(), 1);
      };
    } else if (s.N == 1) {
      blas = [&] {
        cblas_sgemv(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.ta ? s.K : s.M,
                    s.ta ? s.M : s.K, 1.0f, a.data(), lda, b.data(), 1, 0.0f, c1.data(), 1);
      };
    } else {
      blas = [&] {
        cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans,
                    s.tb ? CblasTrans : CblasNoTrans, s.M, s.N, s.K, 1.0f, a.data(), lda,
                    b.data(), ldb, 0.0f, c1.data(), s.N);
      };
    }
    const auto small = [&] {
      plangrad::small_sgemm(s.ta, s.tb, s.M, s.N, s.K, 1.0f, a.data(), b.data(), 0.0f,
                            c2.data());
    };
    const double t_blas = median_ns_per_call(blas, reps);
    const double t_small = median_ns_per_call(small, reps);
    blas();
    small();
    double max_rel = 0, scale = 0;
    for (float x : c1) scale = std::max(scale, static_cast<double>(std::fabs(x)));
    for (std::size_t i = 0; i < c1.size(); ++i)
      max_rel = std::max(max_rel, std::fabs(static_cast<double>(c1[i]) - c2[i]) /
                                      std::max(scale, 1e-30));
    const double flop = 2.0 * s.M * s.N * s.K;
    std::printf("%-10s %2d %2d %5d %5d %5d | %9.1f %7.1f | %9.1f %7.1f | %5.2fx %9.2e\n", s.tag,
                s.ta, s.tb, s.M, s.N, s.K, t_blas, flop / t_blas, t_small, flop / t_small,
                t_blas / t_small, max_rel);
  }
  return 0;
}
