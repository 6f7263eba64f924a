// log_softmax along the last axis: values against PyTorch, by hand and at the extremes,
// gradients against central differences, the float kernel against the double one, and
// the shape rule.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"
#include "tests/kernel_harness.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

Array log_softmax(const Array& x) {
  std::vector<Array> in{x};
  return run_op_forward("log_softmax", in)[0];
}

}  // namespace

// Recorded with PyTorch 1.13 in float64 (scripts/record_torch_log_softmax.py):
// torch.log_softmax(x, -1) and x.grad after y.backward(dy).
TEST_CASE("log_softmax and its gradient match PyTorch's", "[op][log_softmax][reference]") {
  const Array x = {{0.5, -1.25, 2.0, 0.0}, {1000.0, 998.5, 1001.25, 999.0}, {-3.0, 1.5, 1.5, -0.75}};
  const Array dy = {{1.0, -2.0, 0.5, 0.25}, {0.0, 1.0, -1.0, 3.0}, {2.0, 0.0, -0.5, 1.0}};
  const Array y = {{-1.8344986126036624, -3.5844986126036624, -0.33449861260366254, -2.3344986126036624},
                   {-1.6255774778803729, -3.1255774778803729, -0.37557747788037299, -2.6255774778803729},
                   {-5.2497676652614498, -0.74976766526144956, -0.74976766526144956, -2.9997676652614498}};
  const Array dx = {{1.0399233875080272, -1.9930623555168299, 0.67892420944559606, 0.27421475856320676},
                    {-0.59039398768253726, 0.86826529497772531, -3.0606774970355568, 2.7828061897403686},
                    {1.9868781556959083, -1.18119078162643, -1.68119078162643, 0.87550340755695188}};
  require_close(log_softmax(x), y, 1e-14);
  require_close(run_op_backward("log_softmax", {x}, {dy})[0], dx, 1e-13, 1e-16);
}

TEST_CASE("log_softmax by hand: the last axis only, finite where log(softmax) is not", "[op][log_softmax]") {
  require_close(log_softmax(Array{{0.0, 0.0}, {std::log(3.0), 0.0}}),
                Array{{-std::log(2.0), -std::log(2.0)}, {std::log(0.75), std::log(0.25)}}, 1e-15);
  // exp(-1000) is 0 in double: log(softmax) would be -inf, log_softmax is -1000.
  require_close(log_softmax(Array{{0.0, -1000.0}, {1000.0, -1000.0}}), Array{{0.0, -1000.0}, {0.0, -2000.0}}, 1e-15, 0);
  // Rank 3, each row on its own: the rows' exponentials sum to 1; a shift changes nothing.
  const Array x = random_array({2, 3, 3}, 5, -2.0, 2.0);
  const Array y = log_softmax(x);
  require_close(log_softmax(x + 5.0), y, 1e-14);
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      double sum = 0;
      for (std::size_t k = 0; k < 3; ++k) sum += std::exp(y(i, j, k));
      CHECK(sum == Approx(1.0).epsilon(1e-15));
    }
  // One class: log 1 = 0 and no gradient.
  const Array one_class = shaped({2, 1}, {-7.0, 3.0});
  require_close(log_softmax(one_class), shaped({2, 1}, {0.0, 0.0}), 0, 0);
  require_close(run_op_backward("log_softmax", {one_class}, {shaped({2, 1}, {2.0, -1.0})})[0],
                shaped({2, 1}, {0.0, 0.0}), 0, 0);
  // NaN where PyTorch's is: a NaN, +inf, or only -inf in the row.
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  for (const double v : log_softmax(Array{{nan, 1.0}, {inf, 1.0}, {-inf, -inf}})) CHECK(std::isnan(v));
}

TEST_CASE("log_softmax gradient", "[op][log_softmax][gradcheck]") {
  const std::vector<Shape> shapes = {{1, 2}, {3, 5}, {4, 1, 3}, {2, 3, 4}, {6}};
  for (std::size_t s = 0; s < shapes.size(); ++s) {
    CAPTURE(s);
    check_op_gradients("log_softmax", {random_array(shapes[s], 500 + s, -3.0, 3.0)});
  }
}

// The float kernel sums and takes the log in double: a long float row matches the double
// kernel (on the same float inputs) to float rounding.
TEST_CASE("log_softmax in float matches log_softmax in double to float rounding", "[op][log_softmax][precision]") {
  const std::size_t R = 3, C = 4000;
  const Array x = random_array({R, C}, 13, -4.0, 4.0);
  std::vector<float> xf(x.begin(), x.end());
  Array x_as_float = x;
  std::copy(xf.begin(), xf.end(), x_as_float.begin());
  const Array want = log_softmax(x_as_float);
  KernelCall<float> call("log_softmax", {{static_cast<Dim>(R), static_cast<Dim>(C)}});
  std::vector<std::vector<float>> out = call.fresh_outputs();
  call.forward({xf.data()}, pointers(out));
  for (std::size_t i = 0; i < R * C; ++i) {
    INFO("element " << i);
    REQUIRE(static_cast<double>(out[0][i]) == Approx(want.flat(i)).epsilon(6e-7));
  }
}

TEST_CASE("log_softmax shape rule", "[op][log_softmax][shape]") {
  const OpDef& def = find_op("log_softmax");
  CHECK(def.shape({{4, 10}}, {}) == std::vector<Shape>{{4, 10}});
  CHECK(def.shape({{2, 3, 5}}, {}) == std::vector<Shape>{{2, 3, 5}});
  CHECK(def.shape({{7}}, {}) == std::vector<Shape>{{7}});
  CHECK(def.inplace);
  CHECK(def.backward_inplace);
  CHECK_FALSE(def.backward_reads_in[0]);
  CHECK(def.backward_reads_out[0]);
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{}}, {}); }), Contains("x must have rank 1 or more, got []"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{4, 0}}, {}); }),
             Contains("x [4, 0]: log_softmax needs a last dimension of 1 or more"));
}
