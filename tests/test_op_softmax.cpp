// softmax along the last axis: values against PyTorch, by hand and at the extremes,
// gradients against central differences, the float kernel against the double one, and the
// shape rule.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <xtensor/xview.hpp>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"
#include "tests/kernel_harness.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

Array softmax(const Array& x) {
  std::vector<Array> in{x};
  return run_op_forward("softmax", in)[0];
}

}  // namespace

// Recorded with PyTorch 1.13 in float64 (scripts/record_torch_softmax.py): torch.softmax(x, -1)
// and x.grad after y.backward(dy).
TEST_CASE("softmax and its gradient match PyTorch's", "[op][softmax][reference]") {
  const Array x = {{0.5, -1.25, 2.0, 0.0}, {1000.0, 998.5, 1001.25, 999.0}, {-3.0, 1.5, 1.5, -0.75}};
  const Array dy = {{1.0, -2.0, 0.5, 0.25}, {0.0, 1.0, -1.0, 3.0}, {2.0, 0.0, -0.5, 1.0}};
  const Array y = {
      {0.15969355003210822, 0.027750577932680404, 0.71569683778238435, 0.096859034252827048},
      {0.19679799589417907, 0.043911568340758211, 0.68689249901185234, 0.072397936753210393},
      {0.0052487377216366938, 0.47247631265057199, 0.47247631265057199, 0.049798636977219257}};
  const Array dx = {
      {0.082041671577035319, -0.068995029000833485, 0.0098368439278720184, -0.02288348650407385},
      {0.083794051974529396, 0.062608548577320816, -0.39442251982536208, 0.24801991927351183},
      {0.011420949085938334, 0.08312844814434181, -0.15310970818094419, 0.058560310950664038}};
  require_close(softmax(x), y, 1e-14);
  require_close(run_op_backward("softmax", {x}, {dy})[0], dx, 1e-13, 1e-16);
}

TEST_CASE("softmax by hand: rows of probabilities, the last axis only", "[op][softmax]") {
  require_close(softmax(Array{{0.0, 0.0}, {std::log(3.0), 0.0}}), Array{{0.5, 0.5}, {0.75, 0.25}}, 1e-15);
  // Rank 3: each [.., .., 3] row on its own; a constant added to a row changes nothing.
  const Array x = random_array({2, 3, 3}, 4, -2.0, 2.0);
  const Array y = softmax(x);
  const Array shifted = softmax(x + 5.0);
  require_close(shifted, y, 1e-14);
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      double sum = 0;
      for (std::size_t k = 0; k < 3; ++k) sum += y(i, j, k);
      CHECK(sum == Approx(1.0).epsilon(1e-15));
    }
  // One class: probability 1 and no gradient, whatever the logit.
  const Array one_class = shaped({2, 1}, {-7.0, 3.0});
  require_close(softmax(one_class), shaped({2, 1}, {1.0, 1.0}), 0, 0);
  require_close(run_op_backward("softmax", {one_class}, {shaped({2, 1}, {2.0, -1.0})})[0], shaped({2, 1}, {0.0, 0.0}),
                0, 0);
  // Rank 1: one row.
  require_close(softmax(Array{1.0, 1.0, 1.0, 1.0}), Array{0.25, 0.25, 0.25, 0.25}, 1e-15);
}

TEST_CASE("softmax stays finite at the extremes and is NaN where PyTorch's is", "[op][softmax][stability]") {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  // exp(1000) overflows and exp(-1000) underflows; shifted by the row maximum neither does.
  const Array y = softmax(Array{{1000.0, -1000.0, 1000.0}, {-1000.0, -1000.0, -999.0}, {-inf, 0.0, -inf}});
  require_close(y, Array{{0.5, 0.0, 0.5},
                         {1.0 / (2.0 + std::exp(1.0)), 1.0 / (2.0 + std::exp(1.0)), std::exp(1.0) / (2.0 + std::exp(1.0))},
                         {0.0, 1.0, 0.0}},
                1e-15, 0);
  // torch.softmax gives a row of NaN for a NaN anywhere in it, for +inf, and for all -inf.
  const Array bad = softmax(Array{{nan, 1.0}, {1.0, nan}, {inf, 1.0}, {-inf, -inf}});
  for (const double v : bad) CHECK(std::isnan(v));
}

TEST_CASE("softmax gradient", "[op][softmax][gradcheck]") {
  const std::vector<Shape> shapes = {{1, 2}, {3, 5}, {4, 1, 3}, {2, 3, 4}, {6}};
  for (std::size_t s = 0; s < shapes.size(); ++s) {
    CAPTURE(s);
    check_op_gradients("softmax", {random_array(shapes[s], 400 + s, -3.0, 3.0)});
  }
}

// The float kernel sums in double, so a long float row matches the double kernel (on the
// same float inputs) to float rounding, element by element.
TEST_CASE("softmax in float matches softmax in double to float rounding", "[op][softmax][precision]") {
  const std::size_t R = 3, C = 4000;
  const Array x = random_array({R, C}, 12, -4.0, 4.0);
  std::vector<float> xf(x.begin(), x.end());
  Array x_as_float = x;
  std::copy(xf.begin(), xf.end(), x_as_float.begin());
  const Array want = softmax(x_as_float);
  KernelCall<float> call("softmax", {{static_cast<Dim>(R), static_cast<Dim>(C)}});
  std::vector<std::vector<float>> out = call.fresh_outputs();
  call.forward({xf.data()}, pointers(out));
  for (std::size_t i = 0; i < R * C; ++i) {
    INFO("element " << i);
    REQUIRE(static_cast<double>(out[0][i]) == Approx(want.flat(i)).epsilon(6e-7));
  }
}

TEST_CASE("softmax shape rule", "[op][softmax][shape]") {
  const OpDef& def = find_op("softmax");
  CHECK(def.shape({{4, 10}}, {}) == std::vector<Shape>{{4, 10}});
  CHECK(def.shape({{2, 3, 5}}, {}) == std::vector<Shape>{{2, 3, 5}});
  CHECK(def.shape({{7}}, {}) == std::vector<Shape>{{7}});
  CHECK(def.inplace);
  CHECK(def.backward_inplace);
  CHECK_FALSE(def.backward_reads_in[0]);
  CHECK(def.backward_reads_out[0]);
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{}}, {}); }), Contains("x must have rank 1 or more, got []"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{4, 0}}, {}); }),
             Contains("x [4, 0]: softmax needs a last dimension of 1 or more"));
}
