// flatten and reshape: shapes (inferred -1, symbolic batch), values unchanged, gradients
// (including the in-place paths the checker exercises), shape errors.
#include <catch2/catch.hpp>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

using Ints = std::vector<std::int64_t>;

Attrs shape_attr(Ints shape) { return Attrs{{"shape", shape}}; }

Shape reshaped(const Shape& x, Ints target) {
  return find_op("reshape").shape({x}, shape_attr(std::move(target)))[0];
}

}  // namespace

TEST_CASE("flatten keeps the batch and the row-major order", "[op][flatten]") {
  const Array x = random_array({2, 3, 4, 5}, 1);
  std::vector<Array> in{x};
  const Array y = run_op_forward("flatten", in)[0];
  REQUIRE(y.shape() == std::vector<std::size_t>{2, 60});
  REQUIRE(std::equal(y.begin(), y.end(), x.begin()));
  const Array dy = random_array({2, 60}, 2);
  const Array dx = run_op_backward("flatten", {x}, {dy})[0];
  REQUIRE(dx.shape() == std::vector<std::size_t>{2, 3, 4, 5});
  REQUIRE(std::equal(dx.begin(), dx.end(), dy.begin()));
}

TEST_CASE("flatten shape rule", "[op][flatten][shape]") {
  const OpDef& def = find_op("flatten");
  CHECK(def.shape({{2, 3, 4, 5}}, {}) == std::vector<Shape>{{2, 60}});
  CHECK(def.shape({{7, 3}}, {}) == std::vector<Shape>{{7, 3}});
  CHECK(def.shape({{kBatchDim, 16, 4, 4}}, {}) == std::vector<Shape>{{kBatchDim, 256}});
  CHECK(def.inplace);
  CHECK(def.backward_inplace);
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{5}}, {}); }),
             Contains("x must have rank 2 or more, got [5]"));
}

TEST_CASE("reshape infers one -1 and keeps the values", "[op][reshape][shape]") {
  CHECK(reshaped({2, 6}, {3, -1}) == Shape{3, 4});
  CHECK(reshaped({2, 6}, {-1}) == Shape{12});
  CHECK(reshaped({2, 3, 4}, {4, -1, 2}) == Shape{4, 3, 2});
  CHECK(reshaped({2, 3, 4}, {6, 4}) == Shape{6, 4});
  CHECK(reshaped({12}, {1, 12, 1}) == Shape{1, 12, 1});
  // A symbolic batch is kept: -1 first, the rest the same size.
  CHECK(reshaped({kBatchDim, 12}, {-1, 3, 4}) == Shape{kBatchDim, 3, 4});
  CHECK(reshaped({kBatchDim, 3, 4}, {-1, 12}) == Shape{kBatchDim, 12});

  const Array x = random_array({2, 6}, 3);
  std::vector<Array> in{x};
  const Array y = run_op_forward("reshape", in, shape_attr({3, -1}))[0];
  REQUIRE(y.shape() == std::vector<std::size_t>{3, 4});
  REQUIRE(std::equal(y.begin(), y.end(), x.begin()));
}

TEST_CASE("reshape shape errors name the shapes", "[op][reshape][shape]") {
  const OpDef& def = find_op("reshape");
  auto message = [&](Shape x, Ints target) {
    return error_message<ShapeError>([&] { def.shape({x}, shape_attr(target)); });
  };
  CHECK_THAT(message({2, 6}, {5, 3}), Contains("shape [5, 3] has 15 elements but x [2, 6] has 12"));
  CHECK_THAT(message({2, 6}, {5, -1}), Contains("shape [5, -1] does not fit x [2, 6] (12 elements)"));
  CHECK_THAT(message({2, 6}, {-1, -1}), Contains("shape [-1, -1] may infer one dimension (-1), not two"));
  CHECK_THAT(message({2, 6}, {0, 12}), Contains("shape [0, 12] must have positive entries or one -1"));
  CHECK_THAT(message({2, 6}, {-2, 6}), Contains("shape [-2, 6] must have positive entries or one -1"));
  CHECK_THAT(message({kBatchDim, 12}, {2, -1}),
             Contains("shape [2, -1] does not keep the batch of x [N, 12]"));
  CHECK_THAT(message({kBatchDim, 12}, {-1, 6}),
             Contains("shape [-1, 6] does not keep the batch of x [N, 12]: with a symbolic batch it "
                      "must be [-1, ...] with 12 elements per sample"));
}

TEST_CASE("flatten and reshape gradients, in place included", "[op][flatten][reshape][gradcheck]") {
  check_op_gradients("flatten", {random_array({2, 3, 2, 2}, 10)});
  check_op_gradients("flatten", {random_array({3, 5}, 11)});
  GradCheckOptions options;
  options.attrs = shape_attr({4, -1});
  check_op_gradients("reshape", {random_array({2, 3, 4}, 12)}, options);
  options.attrs = shape_attr({-1});
  check_op_gradients("reshape", {random_array({2, 5}, 13)}, options);
}
