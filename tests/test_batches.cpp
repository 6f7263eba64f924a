// Mini-batches: every epoch a permutation, reproducible from the seed, resumable from a
// saved state; drop_last; gathering rows and one-hot targets into a caller's buffer.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <numeric>
#include <vector>

#include "engine/batches.hpp"
#include "core/errors.hpp"
#include "core/random.hpp"
#include "tests/error_message.hpp"

using namespace plangrad;
using Catch::Matchers::Contains;
using plangrad::testing::error_message;

namespace {

using Batches = std::vector<std::vector<std::size_t>>;

// The batches of the iterator's current epoch, moving it to the next epoch.
Batches one_epoch(BatchIterator& it) {
  Batches out;
  for (Span<const std::size_t> b; it.next(b);) out.emplace_back(b.begin(), b.end());
  return out;
}

std::vector<std::size_t> concat(const Batches& batches) {
  std::vector<std::size_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

bool is_permutation_of_iota(std::vector<std::size_t> v, std::size_t n) {
  if (v.size() != n) return false;
  std::sort(v.begin(), v.end());
  for (std::size_t i = 0; i < n; ++i) {
    if (v[i] != i) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("each epoch hands out a fresh permutation in batches of the given size", "[batches]") {
  BatchIterator it(103, 10, 42);
  CHECK(it.batches_per_epoch() == 11);
  std::vector<std::vector<std::size_t>> orders;
  for (std::size_t e = 0; e < 4; ++e) {
    CHECK(it.epoch() == e);
    const std::vector<std::size_t> order(it.order().begin(), it.order().end());
    const Batches batches = one_epoch(it);
    REQUIRE(batches.size() == 11);
    for (std::size_t k = 0; k < 10; ++k) CHECK(batches[k].size() == 10);
    CHECK(batches[10].size() == 3);
    const std::vector<std::size_t> all = concat(batches);
    CHECK(all == order);
    CHECK(is_permutation_of_iota(all, 103));
    for (const auto& previous : orders) CHECK(previous != all);
    orders.push_back(all);
  }
  CHECK(it.epoch() == 4);
}

TEST_CASE("the shuffle is Fisher-Yates over Rng(seed), the same seed the same batches",
          "[batches]") {
  // The documented draws: j = rng.below(i + 1) for i = n-1 down to 1, on 0 .. n-1.
  Rng rng(9);
  std::vector<std::size_t> expected(20);
  std::iota(expected.begin(), expected.end(), std::size_t{0});
  for (std::size_t i = 19; i > 0; --i) std::swap(expected[i], expected[rng.below(i + 1)]);
  BatchIterator it(20, 6, 9);
  CHECK(std::vector<std::size_t>(it.order().begin(), it.order().end()) == expected);

  BatchIterator a(57, 8, 1234), b(57, 8, 1234), c(57, 8, 1235);
  bool differs = false;
  for (int e = 0; e < 5; ++e) {
    const Batches ea = one_epoch(a);
    CHECK(ea == one_epoch(b));
    differs = differs || ea != one_epoch(c);
  }
  CHECK(differs);
}

TEST_CASE("every permutation of three samples is about equally likely", "[batches]") {
  BatchIterator it(3, 3, 5);
  std::map<std::vector<std::size_t>, int> seen;
  for (int e = 0; e < 6000; ++e) ++seen[concat(one_epoch(it))];
  REQUIRE(seen.size() == 6);
  for (const auto& [perm, count] : seen) {
    INFO("permutation " << perm[0] << perm[1] << perm[2]);
    CHECK(count > 850);  // expectation 1000, sigma ~29
    CHECK(count < 1150);
  }
}

TEST_CASE("a saved iterator state resumes exactly", "[batches]") {
  for (bool drop_last : {false, true}) {
    DYNAMIC_SECTION("drop_last " << drop_last) {
      BatchIterator it(50, 7, 77, drop_last);
      one_epoch(it);
      one_epoch(it);
      Span<const std::size_t> b;
      for (int k = 0; k < 3; ++k) REQUIRE(it.next(b));
      const BatchIteratorState saved = it.get_state();
      CHECK(saved.epoch == 2);
      CHECK(saved.position == 21);
      CHECK(saved.num_samples == 50);
      CHECK(saved.batch_size == 7);
      CHECK(saved.drop_last == drop_last);

      const Batches rest = one_epoch(it);
      const Batches later = one_epoch(it);

      // A new iterator, even with another seed, continues from the state alone.
      BatchIterator resumed(50, 7, 999, drop_last);
      resumed.set_state(saved);
      CHECK(resumed.get_state() == saved);
      CHECK(resumed.epoch() == 2);
      CHECK(one_epoch(resumed) == rest);
      CHECK(one_epoch(resumed) == later);
      CHECK(resumed.get_state() == it.get_state());
    }
  }

  SECTION("a state taken after the last batch of an epoch") {
    BatchIterator it(10, 5, 3);
    Span<const std::size_t> b;
    REQUIRE(it.next(b));
    REQUIRE(it.next(b));
    const BatchIteratorState saved = it.get_state();
    CHECK(saved.position == 10);
    CHECK_FALSE(it.next(b));
    const Batches next_epoch = one_epoch(it);
    BatchIterator resumed(10, 5, 0);
    resumed.set_state(saved);
    CHECK_FALSE(resumed.next(b));
    CHECK(resumed.epoch() == 1);
    CHECK(one_epoch(resumed) == next_epoch);
  }
}

TEST_CASE("a state that does not fit the iterator is a DataError", "[batches]") {
  BatchIterator it(50, 7, 1);
  const BatchIteratorState good = it.get_state();
  BatchIteratorState s = good;
  s.num_samples = 60;
  CHECK_THAT(error_message<DataError>([&] { it.set_state(s); }),
             Contains("saved for 60 samples, batch size 7, but this iterator has 50 samples"));
  s = good;
  s.drop_last = true;
  CHECK_THAT(error_message<DataError>([&] { it.set_state(s); }), Contains("drop_last"));
  s = good;
  s.position = 8;
  CHECK_THAT(error_message<DataError>([&] { it.set_state(s); }),
             Contains("position 8 is not a batch boundary"));
  s = good;
  s.position = 51;
  CHECK_THAT(error_message<DataError>([&] { it.set_state(s); }), Contains("position 51"));
  s = good;
  s.rng = {0, 0, 0, 0};
  CHECK_THAT(error_message<DataError>([&] { it.set_state(s); }), Contains("all zeros"));
  CHECK(it.get_state() == good);  // refused states change nothing
}

TEST_CASE("drop_last drops the short batch, a different one each epoch", "[batches]") {
  BatchIterator keep(10, 4, 11, false), drop(10, 4, 11, true);
  CHECK(keep.batches_per_epoch() == 3);
  CHECK(drop.batches_per_epoch() == 2);
  std::vector<std::vector<std::size_t>> dropped;
  for (int e = 0; e < 5; ++e) {
    const Batches k = one_epoch(keep);
    const Batches d = one_epoch(drop);
    REQUIRE(k.size() == 3);
    REQUIRE(d.size() == 2);
    CHECK(k[2].size() == 2);
    CHECK(d[0] == k[0]);  // same seed, same order: drop_last only cuts the tail
    CHECK(d[1] == k[1]);
    dropped.push_back(k[2]);
  }
  CHECK(
      std::any_of(dropped.begin(), dropped.end(), [&](const auto& x) { return x != dropped[0]; }));

  BatchIterator exact(8, 4, 1, true);
  CHECK(one_epoch(exact).size() == 2);
  BatchIterator small(3, 4, 1, false);  // one short batch: the whole order
  const std::vector<std::size_t> small_order(small.order().begin(), small.order().end());
  CHECK(one_epoch(small) == Batches{small_order});

  CHECK_THROWS_AS(BatchIterator(3, 4, 1, true), UsageError);
  CHECK_THROWS_AS(BatchIterator(0, 4, 1), UsageError);
  CHECK_THROWS_AS(BatchIterator(3, 0, 1), UsageError);
}

TEST_CASE("gather_rows copies a batch's rows into the caller's buffer", "[batches]") {
  const std::vector<float> x = {0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32};  // 4 rows of 3
  const std::vector<std::size_t> idx = {3, 0, 3};
  std::vector<float> dst(9, -1.0f);
  gather_rows(x.data(), 4, 3, make_span(idx), dst.data());
  CHECK(dst == std::vector<float>{30, 31, 32, 0, 1, 2, 30, 31, 32});

  const std::vector<double> xd = {1.5, 2.5};  // 2 rows of 1
  std::vector<double> dd(2);
  const std::vector<std::size_t> idx2 = {1, 0};
  gather_rows(xd.data(), 2, 1, make_span(idx2), dd.data());
  CHECK(dd == std::vector<double>{2.5, 1.5});

  const std::vector<std::size_t> bad = {0, 4};
  std::fill(dst.begin(), dst.end(), -1.0f);
  CHECK_THAT(error_message<DataError>([&] { gather_rows(x.data(), 4, 3, make_span(bad), dst.data()); }),
             Contains("index 4 (batch row 1) is out of range for 4 rows"));
  CHECK(dst[0] == -1.0f);  // nothing copied
}

TEST_CASE("one-hot targets, whole or gathered for a batch", "[batches]") {
  const Tensor<float> labels({4}, {2, 0, 1, 2});
  const Tensor<float> t = one_hot(labels, 3);
  const Tensor<float> expected({4, 3}, {0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1});
  CHECK(t == expected);

  const std::vector<std::size_t> idx = {1, 3};
  std::vector<float> dst(6, 7.0f);
  gather_one_hot(labels.data(), 4, make_span(idx), 3, dst.data());
  CHECK(dst == std::vector<float>{1, 0, 0, 0, 0, 1});

  CHECK_THAT(error_message<DataError>([&] {
               one_hot(Tensor<float>({2}, {0, 3}), 3);
             }),
             Contains("label 3.000000 at index 1 is not a class index in [0, 2]"));
  CHECK_THAT(error_message<DataError>([&] { one_hot(Tensor<float>({1}, {0.5f}), 3); }),
             Contains("label 0.500000 at index 0"));
  CHECK_THAT(error_message<DataError>([&] { one_hot(Tensor<float>({1}, {-1}), 3); }),
             Contains("index 0"));
  const std::vector<std::size_t> out_of_range = {4};
  CHECK_THAT(error_message<DataError>(
                 [&] { gather_one_hot(labels.data(), 4, make_span(out_of_range), 3, dst.data()); }),
             Contains("index 4 (batch row 0) is out of range for 4 labels"));
}
