// gelu (tanh approximation): values and gradients against PyTorch, gradients against
// central differences, the tails, and the shape rule.
#include <catch2/catch.hpp>
#include <cmath>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"

using namespace plangrad;
using namespace plangrad::testing;

// Recorded with PyTorch 1.13 in float64 (scripts/record_torch_gelu.py):
// F.gelu(x, approximate='tanh') and x.grad after y.backward(dy).
TEST_CASE("gelu and its gradient match PyTorch's tanh approximation", "[op][gelu][reference]") {
  const Array x = {{-6.0, -2.5, -1.0, -0.25}, {0.0, 0.5, 1.75, 4.0}};
  const Array dy = {{1.0, -2.0, 0.5, 0.25}, {0.75, 1.0, -1.0, 3.0}};
  const Array y = {{-8.43964897967453e-11, -0.015084266089998577, -0.15880800939172329, -0.100324649298315},
                   {0, 0.34571400982514394, 1.6797953823412513, 3.9999297540518075}};
  const Array dx = {{-7.7099760128363292e-10, 0.075903152425332354, -0.041482041922891288, 0.076161476212234888},
                    {0.375, 0.86736990353464238, -1.1115969813872029, 3.0010053695913661}};
  std::vector<Array> in{x};
  // At x = -6, 1 + tanh(u) cancels to ~1e-10: relative agreement there is only what both
  // sides' tanh give, so the absolute bound carries it.
  require_close(run_op_forward("gelu", in)[0], y, 1e-14, 1e-20);
  require_close(run_op_backward("gelu", {x}, {dy})[0], dx, 1e-14, 1e-18);
}

TEST_CASE("gelu tails: x far out gives x or 0, never NaN", "[op][gelu]") {
  std::vector<Array> in{Array{-1e200, -40.0, 40.0, 1e200}};
  const Array y = run_op_forward("gelu", in)[0];
  CHECK(y(0) == 0.0);
  CHECK(y(1) == 0.0);
  CHECK(y(2) == 40.0);
  CHECK(y(3) == 1e200);
  // Saturated: the limits 0 and 1, also where x^2 overflows (PyTorch gives NaN there).
  const Array dx = run_op_backward("gelu", {Array{-1e200, -40.0, 40.0, 1e200}}, {Array{1.0, 1.0, 1.0, 1.0}})[0];
  CHECK(dx(0) == 0.0);
  CHECK(dx(1) == 0.0);
  CHECK(dx(2) == 1.0);
  CHECK(dx(3) == 1.0);
}

TEST_CASE("gelu gradient", "[op][gelu][gradcheck]") {
  check_op_gradients("gelu", {random_array({3, 5}, 41, -4.0, 4.0)});
  check_op_gradients("gelu", {random_array({2, 3, 4}, 42, -1.0, 1.0)});
}

TEST_CASE("gelu shape rule", "[op][gelu][shape]") {
  const OpDef& def = find_op("gelu");
  CHECK(def.shape({{4, 10}}, {}) == std::vector<Shape>{{4, 10}});
  CHECK(def.shape({{2, 3, 5, 5}}, {}) == std::vector<Shape>{{2, 3, 5, 5}});
  CHECK_FALSE(def.inplace);
  CHECK(def.backward_inplace);
  CHECK(def.backward_reads_in[0]);
  CHECK_FALSE(def.backward_reads_out[0]);
}
