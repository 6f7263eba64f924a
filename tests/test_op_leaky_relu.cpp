// leaky_relu: values and gradients against PyTorch, gradients against central
// differences, and the shape rule with its attribute.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

Attrs slope(double alpha) { return Attrs{{"alpha", alpha}}; }

}  // namespace

// Recorded with PyTorch 1.13 in float64 (scripts/record_torch_leaky_relu.py):
// F.leaky_relu(x, alpha) and x.grad after y.backward(dy), at the default slope and at 0.2.
TEST_CASE("leaky_relu and its gradient match PyTorch's", "[op][leaky_relu][reference]") {
  const Array x = {{-2.0, -0.25, 0.0, 0.5}, {3.0, -1.5, 1.25, -4.0}};
  const Array dy = {{1.0, -2.0, 0.5, 0.25}, {0.0, 1.0, -1.0, 3.0}};
  std::vector<Array> in{x};
  // No attribute: the default slope, 0.01.
  require_close(run_op_forward("leaky_relu", in)[0],
                Array{{-0.02, -0.0025000000000000001, 0, 0.5}, {3, -0.014999999999999999, 1.25, -0.040000000000000001}},
                1e-15);
  require_close(run_op_backward("leaky_relu", {x}, {dy})[0],
                Array{{0.01, -0.02, 0.0050000000000000001, 0.25}, {0, 0.01, -1, 0.029999999999999999}}, 1e-15);
  require_close(run_op_forward("leaky_relu", in, slope(0.2))[0],
                Array{{-0.40000000000000002, -0.050000000000000003, 0, 0.5},
                      {3, -0.30000000000000004, 1.25, -0.80000000000000004}},
                1e-15);
  require_close(run_op_backward("leaky_relu", {x}, {dy}, slope(0.2))[0],
                Array{{0.20000000000000001, -0.40000000000000002, 0.10000000000000001, 0.25},
                      {0, 0.20000000000000001, -1, 0.60000000000000009}},
                1e-15);
}

TEST_CASE("leaky_relu with slope 0 is relu; a NaN stays NaN", "[op][leaky_relu]") {
  const Array x = {-1.5, 0.0, 2.0};
  std::vector<Array> in{x};
  require_close(run_op_forward("leaky_relu", in, slope(0.0))[0], Array{0.0, 0.0, 2.0}, 0, 0);
  require_close(run_op_backward("leaky_relu", {x}, {Array{3.0, 3.0, 3.0}}, slope(0.0))[0], Array{0.0, 0.0, 3.0}, 0, 0);
  std::vector<Array> nan_in{Array{std::numeric_limits<double>::quiet_NaN()}};
  CHECK(std::isnan(run_op_forward("leaky_relu", nan_in)[0](0)));
}

TEST_CASE("leaky_relu gradient", "[op][leaky_relu][gradcheck]") {
  // Away from the kink at 0, where the derivative jumps.
  GradCheckOptions defaults;
  check_op_gradients("leaky_relu", {random_away_from_zero({3, 5}, 31)}, defaults);
  GradCheckOptions steep;
  steep.attrs = slope(0.3);
  check_op_gradients("leaky_relu", {random_away_from_zero({2, 3, 4}, 32)}, steep);
}

TEST_CASE("leaky_relu shape rule", "[op][leaky_relu][shape]") {
  const OpDef& def = find_op("leaky_relu");
  const Attrs a = normalize_attrs(def, "lr", {});
  CHECK(a.get_float("alpha") == 0.01);
  CHECK(def.shape({{4, 10}}, a) == std::vector<Shape>{{4, 10}});
  CHECK(def.shape({{2, 3, 5, 5}}, a) == std::vector<Shape>{{2, 3, 5, 5}});
  CHECK(def.inplace);
  CHECK(def.backward_inplace);
  CHECK_FALSE(def.backward_reads_in[0]);
  CHECK(def.backward_reads_out[0]);
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{4}}, slope(-0.1)); }), Contains("must be finite and 0 or more"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{4}}, slope(std::numeric_limits<double>::infinity())); }),
             Contains("must be finite and 0 or more"));
}
