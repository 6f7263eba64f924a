// standardize: values by hand both ways, the gradient against central differences (in
// place included), the shape rule and the model-file check of the statistics. In graphs:
// tests/test_standardize.cpp.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

Attrs inverse(int k) { return Attrs{{"inverse", std::int64_t{k}}}; }

std::string shape_error(const std::vector<Shape>& in, const Attrs& attrs = {}) {
  const OpDef& def = find_op("standardize");
  return error_message<ShapeError>([&] { def.shape(in, normalize_attrs(def, "s", attrs)); });
}

}  // namespace

TEST_CASE("standardize forward and backward by hand", "[op][standardize]") {
  std::vector<Array> in{Array{{1.0, 10.0}, {3.0, -2.0}}, Array{2.0, 4.0}, Array{0.5, 2.0}};
  // y = (x - mean) / std per column
  require_close(run_op_forward("standardize", in)[0], Array{{-2.0, 3.0}, {2.0, -3.0}}, 0, 0);
  // dx = dy / std per column; no gradient for the statistics
  const std::vector<Array> d = run_op_backward("standardize", in, {Array{{1.0, 1.0}, {-2.0, 6.0}}});
  require_close(d[0], Array{{2.0, 0.5}, {-4.0, 3.0}}, 0, 0);
  CHECK(d[1].size() == 0);
  CHECK(d[2].size() == 0);
  // inverse: y = x * std + mean, dx = dy * std
  require_close(run_op_forward("standardize", in, inverse(1))[0], Array{{2.5, 24.0}, {3.5, 0.0}}, 0, 0);
  require_close(run_op_backward("standardize", in, {Array{{1.0, 1.0}, {-2.0, 6.0}}}, inverse(1))[0],
                Array{{0.5, 2.0}, {-1.0, 12.0}}, 0, 0);
  // The two undo each other.
  std::vector<Array> back{run_op_forward("standardize", in)[0], in[1], in[2]};
  require_close(run_op_forward("standardize", back, inverse(1))[0], in[0]);
}

TEST_CASE("standardize gradient, in place included", "[op][standardize][gradcheck]") {
  for (int inv : {0, 1}) {
    GradCheckOptions options;
    options.attrs = inverse(inv);
    check_op_gradients("standardize", {random_array({5, 3}, 1, -4.0, 4.0), random_array({3}, 2), random_array({3}, 3, 0.2, 3.0)},
                       options);
    check_op_gradients("standardize",
                       {random_array({2, 3, 4}, 4, -2.0, 2.0), random_array({4}, 5), random_array({4}, 6, 0.5, 2.0)}, options);
  }
}

TEST_CASE("standardize: shapes and what the planner may do", "[op][standardize][shape]") {
  const OpDef& def = find_op("standardize");
  CHECK(def.shape({{kBatchDim, 7}, {7}, {7}}, inverse(0)) == std::vector<Shape>{{kBatchDim, 7}});
  CHECK_THAT(shape_error({{2, 7}, {6}, {7}}), Contains("must both be [7], the last dimension of x [2, 7]"));
  CHECK_THAT(shape_error({{2, 7}, {7}, {7, 1}}), Contains("std must have rank 1"));
  CHECK_THAT(shape_error({{2, 7}, {7}, {7}}, inverse(2)), Contains("attribute 'inverse' must be 0 or 1, got 2"));
  CHECK(def.inplace);
  CHECK(def.backward_inplace);
  CHECK(def.differentiable == std::vector<bool>{true, false, false});
  CHECK(def.backward_reads_in == std::vector<bool>{false, false, true});
}

TEST_CASE("standardize refuses statistics that would divide by nothing", "[op][standardize][errors]") {
  const OpDef& def = find_op("standardize");
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float good[] = {1.0f, 0.5f};
  CHECK(def.check_data(1, good, 2).empty());
  CHECK(def.check_data(2, good, 2).empty());
  const float zero[] = {1.0f, 0.0f}, negative[] = {-1.0f}, tiny[] = {1e-40f}, not_a_number[] = {nan}, endless[] = {inf};
  CHECK_THAT(def.check_data(2, zero, 2), Contains("std[1] = 0 is not a positive normal float"));
  CHECK_THAT(def.check_data(2, negative, 1), Contains("std[0] = -1 is not a positive normal float"));
  CHECK_THAT(def.check_data(2, tiny, 1), Contains("not a positive normal float"));
  CHECK_THAT(def.check_data(2, not_a_number, 1), Contains("not a positive normal float"));
  CHECK_THAT(def.check_data(1, endless, 1), Contains("mean[0] = inf is not finite"));
  CHECK(def.check_data(1, zero, 2).empty());  // a mean may be 0
}
