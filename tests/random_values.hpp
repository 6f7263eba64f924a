// Deterministic random test data from a seed. std::mt19937_64's sequence is fixed by the
// standard and the mapping to [0, 1) is written here (not left to <random>'s
// distributions, which differ between standard libraries), so a seed gives the same data
// everywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace plangrad::testing {

// Uniform in [0, 1) from the top 53 bits of one draw.
inline double unit_uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// n values uniform in [lo, hi).
template <class T>
std::vector<T> random_values(std::size_t n, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::vector<T> out(n);
  for (T& x : out) x = static_cast<T>(lo + (hi - lo) * unit_uniform(rng));
  return out;
}

}  // namespace plangrad::testing
