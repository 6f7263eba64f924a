// The kernel benchmarks' clock (bench_conv, bench_batchnorm): this thread's CPU time, which
// with one thread is the whole work and on a shared machine leaves out the time other
// processes hold the core; and the median of a kernel call's time over enough calls.
#pragma once

#include <algorithm>
#include <ctime>
#include <functional>
#include <vector>

namespace plangrad::bench_clock {

inline double thread_cpu_us() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) * 1e-3;
}

// Five calls to warm up, then at least `calls` calls and `total_us` of CPU time.
inline double median_us(const std::function<void()>& f, std::size_t calls, double total_us) {
  for (int i = 0; i < 5; ++i) f();
  std::vector<double> t;
  double total = 0;
  while (t.size() < calls || total < total_us) {
    const double t0 = thread_cpu_us();
    f();
    const double us = thread_cpu_us() - t0;
    t.push_back(us);
    total += us;
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace plangrad::bench_clock
