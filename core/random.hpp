/// \file
/// The one random number generator: every random choice in plangrad takes a seed and goes
/// through it. Its mapping from bits to numbers is written here (not left to `<random>`'s
/// distributions, which differ between standard libraries), so a seed means the same
/// numbers everywhere.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "core/visibility.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

/// xoshiro256** seeded by splitmix64, with its own uniform, normal and integer draws.
class Rng {
 public:
  /// The generator of `seed`: the same seed, the same numbers.
  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  /// Starts over as Rng(seed) would.
  void reseed(std::uint64_t seed) {
    // splitmix64 expands the seed into xoshiro256**'s state
    for (auto& s : state_) {
      seed += 0x9E3779B97F4A7C15ull;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      s = z ^ (z >> 31);
    }
  }

  /// xoshiro256**
  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform in [0, 1), 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi): lo + (hi - lo) * uniform().
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Standard normal by Box–Muller (one draw per call; the pair's second half is dropped
  /// so that the state is a function of the call count alone).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  /// Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; the bias for n << 2^64 is
  /// far below anything a shuffle could show).
  std::uint64_t below(std::uint64_t n) {
    __extension__ using u128 = unsigned __int128;
    return static_cast<std::uint64_t>((static_cast<u128>(next()) * n) >> 64);
  }

  /// The generator's four words: enough to continue it exactly (set_state).
  struct State {
    std::uint64_t s[4];  ///< xoshiro256**'s state
  };
  /// A snapshot of the generator.
  State state() const { return {{state_[0], state_[1], state_[2], state_[3]}}; }
  /// Continues from a snapshot: the same numbers as the generator it was taken from.
  void set_state(const State& st) {
    for (int i = 0; i < 4; ++i) state_[i] = st.s[i];
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4];
};

/// A step's counter-based random stream: the numbers are a pure function of (seed, step,
/// stream, index), so a kernel may draw element i from any thread, in any chunk, in any
/// order, and a run resumed at step s draws what the uninterrupted run drew there. No state
/// advances; the executor sets `step` before each run (engine/executor.hpp).
struct StepRandom {
  std::uint64_t seed = 0;  ///< the run's seed (fit: FitOptions::seed)
  std::uint64_t step = 0;  ///< the step counter (fit: the optimizer steps made so far)
  /// The place of the batch's first row in the step's global batch: a data-parallel rank
  /// computes a slice of it and draws its rows' numbers as one process would.
  std::uint64_t first_row = 0;
};

/// splitmix64's output function: a bijection of 64-bit words that mixes every input bit
/// into every output bit.
inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The key of one stream (a node: `stream` is its name's hash, stream_hash) at one step.
inline std::uint64_t counter_key(const StepRandom& r, std::uint64_t stream) {
  return mix64(mix64(mix64(r.seed ^ 0x6A09E667F3BCC909ull) ^ r.step) ^ stream);
}

/// Element `index` of the stream `key`: splitmix64's output at position index + 1 of the
/// sequence that starts at key.
inline std::uint64_t counter_bits(std::uint64_t key, std::uint64_t index) {
  return mix64(key + (index + 1) * 0x9E3779B97F4A7C15ull);
}

/// FNV-1a of a name: the stream of a node, fixed by its name alone, so that two plans of
/// one graph (a batch and a shorter last batch; pruned differently) draw the same numbers.
inline std::uint64_t stream_hash(const char* data, std::size_t n) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(data[i])) * 0x100000001B3ull;
  return h;
}

}  // namespace plangrad
PLANGRAD_PUBLIC_END
