// dropout: the gradient with the mask fixed (a kernel run outside a plan draws seed 0,
// step 0), the scale of what is kept, the fraction dropped for a seed, Eval mode, and the
// shape rule with its attribute. Its random stream across steps, threads and a resumed
// run is tests/test_dropout_training.cpp's.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "core/random.hpp"
#include "ops/dropout.hpp"
#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

Attrs rate(double r) { return Attrs{{"rate", r}}; }

}  // namespace

TEST_CASE("dropout gradient with the mask fixed", "[op][dropout][gradcheck]") {
  GradCheckOptions o;
  o.attrs = rate(0.3);
  const GradCheckResult r = check_op_gradients("dropout", {random_array({4, 25}, 41)}, o);
  CHECK(r.analytic_norm[0] > 0);
  GradCheckOptions half;  // the default rate, 0.5
  check_op_gradients("dropout", {random_array({2, 3, 4, 5}, 42)}, half);
}

TEST_CASE("dropout keeps x / (1 - rate) or 0, and its backward the same mask", "[op][dropout]") {
  const Array x = random_away_from_zero({10, 100}, 43);
  std::vector<Array> in{x};
  const Array y = run_op_forward("dropout", in, rate(0.25))[0];
  const Array dy = random_away_from_zero({10, 100}, 44);
  const Array dx = run_op_backward("dropout", {x}, {dy}, rate(0.25))[0];
  const std::uint64_t key = counter_key(StepRandom{}, 0);
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const bool keep = dropout_keeps(0.25, key, i);
    dropped += !keep;
    REQUIRE(y(i) == x(i) * (keep ? 1.0 / 0.75 : 0.0));
    REQUIRE(dx(i) == dy(i) * (keep ? 1.0 / 0.75 : 0.0));
  }
  CHECK(dropped > 0);
  CHECK(dropped < x.size());
}

TEST_CASE("dropout statistics: the fraction dropped is the rate, at every step", "[op][dropout]") {
  // 2^17 draws: the fraction's standard deviation is at most 0.0014, the bound is 5 of them.
  const std::size_t n = std::size_t{1} << 17;
  for (double r : {0.1, 0.5, 0.8}) {
    double previous_fraction = -1;
    for (std::uint64_t step : {0u, 1u, 1000u}) {
      const std::uint64_t key = counter_key(StepRandom{7, step}, stream_hash("drop", 4));
      std::size_t dropped = 0, dropped_first_half = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const bool drop = !dropout_keeps(r, key, i);
        dropped += drop;
        if (i < n / 2) dropped_first_half += drop;
      }
      const double fraction = static_cast<double>(dropped) / static_cast<double>(n);
      INFO("rate " << r << ", step " << step << ": dropped " << fraction);
      CHECK(std::abs(fraction - r) < 0.007);
      CHECK(std::abs(static_cast<double>(dropped_first_half) / static_cast<double>(n / 2) - r) < 0.01);
      CHECK(fraction != previous_fraction);  // another step, another mask
      previous_fraction = fraction;
    }
  }
  // Rate 0 keeps everything.
  for (std::size_t i = 0; i < 1000; ++i) REQUIRE(dropout_keeps(0.0, 12345, i));
}

TEST_CASE("dropout is the identity in Eval mode, forward and backward", "[op][dropout]") {
  const Array x = random_array({3, 7}, 45);
  std::vector<Array> in{x};
  require_close(run_op_forward("dropout", in, rate(0.5), Mode::Eval)[0], x, 0, 0);
  const Array dy = random_array({3, 7}, 46);
  require_close(run_op_backward("dropout", {x}, {dy}, rate(0.5), Mode::Eval)[0], dy, 0, 0);
  GradCheckOptions o;
  o.mode = Mode::Eval;
  check_op_gradients("dropout", {x}, o);
}

TEST_CASE("dropout keeps a NaN NaN", "[op][dropout]") {
  std::vector<Array> in{Array(shaped({64}, std::vector<double>(64, std::numeric_limits<double>::quiet_NaN())))};
  const Array y = run_op_forward("dropout", in)[0];
  for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(std::isnan(y(i)));
}

TEST_CASE("dropout shape rule", "[op][dropout][shape]") {
  const OpDef& def = find_op("dropout");
  const Attrs a = normalize_attrs(def, "d", {});
  CHECK(a.get_float("rate") == 0.5);
  CHECK(def.shape({{4, 10}}, a) == std::vector<Shape>{{4, 10}});
  CHECK(def.inplace);
  CHECK(def.backward_inplace);
  CHECK_FALSE(def.backward_reads_in[0]);
  CHECK_FALSE(def.backward_reads_out[0]);
  CHECK(def.shape({{3}}, rate(0.0)) == std::vector<Shape>{{3}});
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{4}}, rate(1.0)); }), Contains("rate 1 must be in [0, 1)"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{4}}, rate(-0.1)); }), Contains("must be in [0, 1)"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{4}}, rate(std::numeric_limits<double>::quiet_NaN())); }),
             Contains("must be in [0, 1)"));
}
