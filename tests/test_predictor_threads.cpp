// Predictor calls from 8 threads at once, at mixed batch sizes: on one shared Predictor, and
// on one Predictor per thread sharing one Model; every result must have the bits of the
// same call made alone. scripts/test_tsan.sh runs these under ThreadSanitizer, which also
// sees any write to the shared model or to an arena two calls share.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/predictor.hpp"
#include "tests/example_graphs.hpp"
#include "tests/op_threads.hpp"
#include "tests/predictor_cases.hpp"
#include "tests/random_values.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

constexpr int kThreads = 8;
constexpr std::size_t kSizes[] = {1, 7, 64, 3};
constexpr std::size_t kSets = 3;  // inputs per batch size

// Inputs per (batch size, set), and what one thread alone gets for them.
struct Expected {
  std::vector<std::vector<float>> x, out, probs;
  std::vector<std::vector<std::size_t>> classes;
  static std::size_t at(std::size_t size, std::size_t set) { return size * kSets + set; }
};

Expected expected(const Model& model, std::uint64_t seed) {
  const Predictor alone(model);
  Expected e;
  for (std::size_t s = 0; s < std::size(kSizes); ++s)
    for (std::size_t k = 0; k < kSets; ++k) {
      const std::size_t n = kSizes[s];
      e.x.push_back(random_values<float>(n * alone.input_size(), seed + 100 * s + k, -2.0, 2.0));
      e.out.push_back(executor_output(model, alone.input(), alone.output(), e.x.back(), n));
      e.probs.push_back(alone.probabilities(e.x.back()));
      e.classes.push_back(alone.classes(e.x.back()));
    }
  return e;
}

struct Outcome {
  std::atomic<int> calls{0}, mismatches{0};
  std::mutex mutex;
  std::string error;  // the first exception a thread caught
};

// `calls` calls on `p` from one thread: a batch size, an input set and a kind of call that
// change from call to call and from thread to thread, each checked against `e`.
void call_many(const Predictor& p, const Expected& e, int thread, int calls, Outcome& outcome) {
  try {
    for (int i = 0; i < calls; ++i) {
      const std::size_t s = static_cast<std::size_t>(thread + i) % std::size(kSizes);
      const std::size_t at = Expected::at(s, static_cast<std::size_t>(thread * 7 + i) % kSets);
      const std::vector<float>& x = e.x[at];
      bool same = false;
      switch ((thread + 2 * i) % 3) {
        case 0: same = same_bits(p.predict(x), e.out[at]); break;
        case 1: same = same_bits(p.probabilities(x), e.probs[at]); break;
        default: same = p.classes(x) == e.classes[at]; break;
      }
      outcome.mismatches += !same;
      ++outcome.calls;
    }
  } catch (const std::exception& ex) {
    std::lock_guard<std::mutex> lock(outcome.mutex);
    if (outcome.error.empty()) outcome.error = ex.what();
    ++outcome.mismatches;
  }
}

// body(t) on kThreads threads, started together: none runs before all exist, so that the
// calls overlap from the first one.
void run_threads(const std::function<void(int)>& body) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();
      body(t);
    });
  for (std::thread& t : threads) t.join();
}

void check(const Outcome& outcome, int calls) {
  INFO(outcome.error);
  CHECK(outcome.error.empty());
  CHECK(outcome.mismatches == 0);
  CHECK(outcome.calls == kThreads * calls);
}

struct Net {
  const char* name;
  Model model;
};

std::vector<Net> nets() {
  std::vector<Net> n;
  n.push_back({"residual DAG", residual_dag(4)});
  n.push_back({"batchnorm, one logit", circle_bn_moved(5)});
  return n;
}

}  // namespace

TEST_CASE("8 threads on one Predictor get the bits of one thread", "[predictor][threads]") {
  const int calls = 200;
  for (const Net& net : nets()) {
    INFO(net.name);
    const Expected e = expected(net.model, 1);
    const Predictor shared(net.model);
    Outcome outcome;
    run_threads([&](int t) { call_many(shared, e, t, calls, outcome); });
    check(outcome, calls);
    for (const std::size_t n : kSizes) {
      CHECK(shared.executors(n) >= 1);
      CHECK(shared.executors(n) <= kThreads);
    }
  }
}

TEST_CASE("8 Predictors sharing one Model get the bits of one thread", "[predictor][threads]") {
  const int calls = 200;
  for (const Net& net : nets()) {
    INFO(net.name);
    const Expected e = expected(net.model, 2);
    Outcome outcome;
    // Each thread makes its own Predictor: the Model is read by all of them at once, from
    // planning on.
    run_threads([&](int t) {
      const Predictor own(net.model);
      call_many(own, e, t, calls, outcome);
    });
    check(outcome, calls);
  }
}

// The kernels' own threads (kernels/parallel.hpp) under calls from 8 threads: the pool runs
// one job at a time, so the callers take turns for it. The MNIST MLP's first layer at 64
// examples is wide enough for small_sgemm to split it.
TEST_CASE("8 threads on one Predictor with the kernels split between 2 threads", "[predictor][threads]") {
  const int calls = 24;
  const OpThreads two(2);
  const Model model = models::mnist_mlp().build(6);
  const Expected e = expected(model, 3);
  const Predictor shared(model);
  Outcome outcome;
  run_threads([&](int t) { call_many(shared, e, t, calls, outcome); });
  check(outcome, calls);
}
