// global_avg_pool2d: values and gradients against PyTorch, gradients against central
// differences, the float kernel on a large plane, and the shape rule.
#include <catch2/catch.hpp>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"
#include "tests/kernel_harness.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

// Recorded with PyTorch 1.13 in float64 (scripts/record_torch_global_avg_pool2d.py):
// x.mean((2, 3)) and x.grad after y.backward(dy).
TEST_CASE("global_avg_pool2d and its gradient match PyTorch's", "[op][global_avg_pool2d][reference]") {
  const Array x = shaped({2, 3, 2, 3}, {-2.5, -0.75, 1,     2.75, -1.25, 0.5, 2.25,  -1.75, 0,    1.75, -2.25, -0.5,
                                       1.25, 3,     -1,    0.75, 2.5,   -1.5, 0.25, 2,     -2,   -0.25, 1.5,   -2.5,
                                       -0.75, 1,    2.75,  -1.25, 0.5,  2.25, -1.75, 0,    1.75, -2.25, -0.5,  1.25});
  const Array dy = {{1.0, -2.0, 0.5}, {0.0, 3.0, -1.5}};
  const Array y = {{-0.041666666666666664, -0.083333333333333329, 0.83333333333333337},
                   {-0.16666666666666666, 0.75, -0.25}};
  const std::vector<double> g = {0.16666666666666666, -0.33333333333333331, 0.083333333333333329, 0, 0.5, -0.25};
  std::vector<double> dx;
  for (const double v : g) dx.insert(dx.end(), 6, v);
  std::vector<Array> in{x};
  require_close(run_op_forward("global_avg_pool2d", in)[0], y, 1e-15, 1e-17);
  require_close(run_op_backward("global_avg_pool2d", {x}, {dy})[0], shaped({2, 3, 2, 3}, dx), 1e-15);
}

TEST_CASE("global_avg_pool2d gradient", "[op][global_avg_pool2d][gradcheck]") {
  check_op_gradients("global_avg_pool2d", {random_array({2, 3, 4, 5}, 61)});
  check_op_gradients("global_avg_pool2d", {random_array({1, 1, 1, 1}, 62)});
  check_op_gradients("global_avg_pool2d", {random_array({3, 2, 1, 7}, 63)});
}

// The float kernel sums in double: a 256x256 float plane's mean matches the double
// kernel's on the same float values to float rounding.
TEST_CASE("global_avg_pool2d in float sums in double", "[op][global_avg_pool2d][precision]") {
  const Shape s = {1, 2, 256, 256};
  const Array x = random_array(s, 64, 0.0, 1.0);
  std::vector<float> xf(x.begin(), x.end());
  Array x_as_float = x;
  std::copy(xf.begin(), xf.end(), x_as_float.begin());
  std::vector<Array> in{x_as_float};
  const Array want = run_op_forward("global_avg_pool2d", in)[0];
  KernelCall<float> call("global_avg_pool2d", {s});
  std::vector<std::vector<float>> out = call.fresh_outputs();
  call.forward({xf.data()}, pointers(out));
  for (std::size_t i = 0; i < 2; ++i) REQUIRE(static_cast<double>(out[0][i]) == Approx(want.flat(i)).epsilon(1e-7));
}

TEST_CASE("global_avg_pool2d shape rule", "[op][global_avg_pool2d][shape]") {
  const OpDef& def = find_op("global_avg_pool2d");
  CHECK(def.shape({{8, 16, 7, 7}}, {}) == std::vector<Shape>{{8, 16}});
  CHECK(def.shape({{1, 3, 1, 5}}, {}) == std::vector<Shape>{{1, 3}});
  CHECK_FALSE(def.inplace);
  CHECK_FALSE(def.backward_reads_in[0]);
  CHECK_FALSE(def.backward_reads_out[0]);
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{2, 3, 4}}, {}); }), Contains("x must have rank 4, got [2, 3, 4]"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{2, 3, 0, 4}}, {}); }),
             Contains("x [2, 3, 0, 4] must have positive C, H and W"));
  CHECK_THROWS_AS(def.shape({{1, 1, Dim(1) << 40, Dim(1) << 40}}, {}), ShapeError);
}
