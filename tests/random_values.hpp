// Deterministic random test data: n values uniform in [lo, hi) from a seeded mt19937_64.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace plangrad::testing {

template <class T>
std::vector<T> random_values(std::size_t n, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> out(n);
  for (T& x : out) x = static_cast<T>(dist(rng));
  return out;
}

}  // namespace plangrad::testing
