// normalize: values by hand, the gradient against central differences (in place
// included), the attribute checks. In graphs and models: tests/test_normalize_graph.cpp.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

Attrs stats(double mean, double std_dev) { return Attrs{{"mean", mean}, {"std", std_dev}}; }

std::string graph_error_message(const Attrs& attrs) {
  return error_message<GraphError>([&] { find_op("normalize").shape({{2, 3}}, attrs); });
}

}  // namespace

TEST_CASE("normalize forward and backward by hand", "[op][normalize]") {
  std::vector<Array> in{Array{{0.0, 0.5, 1.0}, {0.25, -1.0, 2.0}}};
  // y = (x - 0.25) / 0.5
  require_close(run_op_forward("normalize", in, stats(0.25, 0.5))[0],
                Array{{-0.5, 0.5, 1.5}, {0.0, -2.5, 3.5}}, 0, 0);
  // dx = dy / 0.5
  require_close(run_op_backward("normalize", in, {Array{{1.0, -2.0, 3.0}, {0.5, 0.0, 4.0}}}, stats(0.25, 0.5))[0],
                Array{{2.0, -4.0, 6.0}, {1.0, 0.0, 8.0}}, 0, 0);
  // The defaults (mean 0, std 1) leave x as it is.
  require_close(run_op_forward("normalize", in)[0], in[0], 0, 0);
}

TEST_CASE("normalize gradient, in place included", "[op][normalize][gradcheck]") {
  GradCheckOptions options;
  options.attrs = stats(0.2860, 0.3530);
  check_op_gradients("normalize", {random_array({4, 7}, 1)}, options);
  options.attrs = stats(-3.0, 7.5);
  check_op_gradients("normalize", {random_array({2, 3, 5}, 2, -10.0, 10.0)}, options);
  options.attrs = stats(0.0, 1.0);
  check_op_gradients("normalize", {random_array({1, 1}, 3)}, options);
}

TEST_CASE("normalize keeps its input's shape and runs in place", "[op][normalize][shape]") {
  const OpDef& def = find_op("normalize");
  CHECK(def.shape({{kBatchDim, 784}}, stats(0.1, 0.3)) == std::vector<Shape>{{kBatchDim, 784}});
  CHECK(def.shape({{2, 1, 28, 28}}, stats(0.1, 0.3)) == std::vector<Shape>{{2, 1, 28, 28}});
  CHECK(def.inplace);
  CHECK(def.backward_inplace);
  CHECK_FALSE(def.backward_reads_in[0]);
  CHECK_FALSE(def.backward_reads_out[0]);
}

TEST_CASE("normalize rejects a std that is not positive and finite", "[op][normalize][errors]") {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THAT(graph_error_message(stats(0.0, 0.0)), Contains("attribute 'std' must be positive and finite, got 0"));
  CHECK_THAT(graph_error_message(stats(0.0, -0.5)), Contains("attribute 'std' must be positive and finite, got -0.5"));
  CHECK_THAT(graph_error_message(stats(0.0, inf)), Contains("attribute 'std' must be positive and finite"));
  CHECK_THAT(graph_error_message(stats(0.0, nan)), Contains("attribute 'std' must be positive and finite"));
  CHECK_THAT(graph_error_message(stats(nan, 1.0)), Contains("attribute 'mean' must be finite"));
}
