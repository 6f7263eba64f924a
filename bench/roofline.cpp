// bench_roofline: this CPU's ceilings for one thread, the two numbers a roofline needs.
//
//   peak FLOP rate  float FMAs on independent accumulators held in registers: AVX-512
//                   (16 lanes) and AVX2 (8 lanes) where the CPU has them
//   bandwidth       streaming read (a sum) and copy over buffers sized like the CNN's
//                   activations (3 MiB: [128,16,28,28] or [128,32,14,14] floats) and far
//                   beyond every cache (256 MiB)
//
// Each figure is the best of several repetitions of this thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID), so another process on the core does not lower it. One JSON
// line per figure. The performance notes divide a workload's FLOPs and bytes by these.
//
//   bench_roofline [--quick]
#include <immintrin.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace {

double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

template <class F>
double best_seconds(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = thread_seconds();
    f();
    best = std::min(best, thread_seconds() - t0);
  }
  return best;
}

// Twelve independent FMA chains: more than latency x throughput on current x86 cores, so
// the loop is bound by the FMA ports, not by the dependency. Unrolled, so that the chains
// stay in registers at any optimization level.
[[gnu::target("avx512f")]] float fma_avx512(long iters) {
  __m512 a[12];
  for (int k = 0; k < 12; ++k) a[k] = _mm512_set1_ps(1.0f + 1e-3f * static_cast<float>(k));
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < iters; ++i)
#pragma GCC unroll 12
    for (int k = 0; k < 12; ++k) a[k] = _mm512_fmadd_ps(a[k], m, c);
  __m512 s = a[0];
  for (int k = 1; k < 12; ++k) s = _mm512_add_ps(s, a[k]);
  float lanes[16];
  _mm512_storeu_ps(lanes, s);
  float t = 0;
  for (float v : lanes) t += v;
  return t;
}

[[gnu::target("avx2,fma")]] float fma_avx2(long iters) {
  __m256 a[12];
  for (int k = 0; k < 12; ++k) a[k] = _mm256_set1_ps(1.0f + 1e-3f * static_cast<float>(k));
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iters; ++i)
#pragma GCC unroll 12
    for (int k = 0; k < 12; ++k) a[k] = _mm256_fmadd_ps(a[k], m, c);
  __m256 s = a[0];
  for (int k = 1; k < 12; ++k) s = _mm256_add_ps(s, a[k]);
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  float t = 0;
  for (float v : lanes) t += v;
  return t;
}

volatile float sink;

void report_peak(const char* isa, int lanes, long iters, int reps, float (*f)(long)) {
  const double s = best_seconds(reps, [&] { sink = f(iters); });
  const double flops = 2.0 * 12.0 * lanes * static_cast<double>(iters);
  std::printf("{\"figure\":\"peak_fma_gflops\",\"isa\":\"%s\",\"gflops\":%.1f}\n", isa, flops / s * 1e-9);
}

// Reads by a sum (64 partial sums, several vectors' worth: the adds' latency does not
// bound it), copies by memcpy.
void report_bandwidth(std::size_t bytes, int reps) {
  const std::size_t n = bytes / sizeof(float);
  std::unique_ptr<float[]> a(new float[n]), b(new float[n]);
  for (std::size_t i = 0; i < n; ++i) a[i] = static_cast<float>(i % 7);
  std::memset(b.get(), 0, n * sizeof(float));
  const double read_s = best_seconds(reps, [&] {
    float s[64] = {};
    for (std::size_t i = 0; i + 64 <= n; i += 64)
      for (int k = 0; k < 64; ++k) s[k] += a[i + k];
    float t = 0;
    for (float v : s) t += v;
    sink = t;
  });
  const double copy_s = best_seconds(reps, [&] {
    std::memcpy(b.get(), a.get(), n * sizeof(float));
    sink = b[n / 2];
  });
  const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
  // A copy moves its bytes twice (read and write).
  std::printf("{\"figure\":\"bandwidth_gbs\",\"buffer_mib\":%.0f,\"read\":%.1f,\"copy\":%.1f}\n", mib,
              static_cast<double>(bytes) / read_s * 1e-9, 2.0 * static_cast<double>(bytes) / copy_s * 1e-9);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else {
      std::fprintf(stderr, "bench_roofline: unknown flag %s (usage: bench_roofline [--quick])\n", argv[i]);
      return 2;
    }
  }
  const int reps = quick ? 1 : 7;
  const long iters = quick ? 1000000L : 20000000L;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) report_peak("avx512", 16, iters, reps, fma_avx512);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) report_peak("avx2", 8, iters, reps, fma_avx2);
  report_bandwidth(std::size_t(3) << 20, quick ? 1 : 50);
  report_bandwidth(std::size_t(256) << 20, quick ? 1 : 5);
  return 0;
}
