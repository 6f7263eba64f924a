// add_bias and add: values by hand, gradients of both inputs, shape-rule messages.
#include <catch2/catch.hpp>
#include <xtensor/xbuilder.hpp>

#include "tests/gradcheck.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

Array forward2(const std::string& op, const Array& a, const Array& b) {
  std::vector<Array> in{a, b};
  return run_op_forward(op, in)[0];
}

}  // namespace

TEST_CASE("add_bias forward and backward by hand", "[op][add_bias]") {
  const Array x = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  const Array b = {10.0, 20.0, 30.0};
  require_close(forward2("add_bias", x, b), Array{{11.0, 22.0, 33.0}, {14.0, 25.0, 36.0}}, 0, 0);
  require_close(forward2("add_bias", Array{1.0, 2.0}, Array{-1.0, 0.5}), Array{0.0, 2.5}, 0, 0);

  // dx = dy, db[f] = sum over rows of dy[., f]
  const Array dy = {{1.0, -2.0, 3.0}, {4.0, 5.0, 0.5}};
  const std::vector<Array> g = run_op_backward("add_bias", {x, b}, {dy});
  require_close(g[0], dy, 0, 0);
  require_close(g[1], Array{5.0, 3.0, 3.5}, 0, 0);
}

TEST_CASE("add_bias broadcasts over every leading dimension", "[op][add_bias]") {
  const Array x = xt::zeros<double>({2, 2, 2});
  const Array y = forward2("add_bias", x, Array{1.0, -1.0});
  require_close(y, Array{{{1.0, -1.0}, {1.0, -1.0}}, {{1.0, -1.0}, {1.0, -1.0}}}, 0, 0);
  const std::vector<Array> g = run_op_backward("add_bias", {x, Array{1.0, -1.0}}, {xt::ones<double>({2, 2, 2})});
  require_close(g[1], Array{4.0, 4.0}, 0, 0);
}

TEST_CASE("add_bias gradient of both inputs", "[op][add_bias][gradcheck]") {
  // The last two have more features than the kernels stage in a local array (512).
  const std::vector<Shape> shapes = {{1, 1}, {1, 4}, {5, 3}, {6}, {2, 3, 4}, {3, 513}, {1, 600}};
  for (std::size_t s = 0; s < shapes.size(); ++s) {
    CAPTURE(s);
    const Dim F = shapes[s].back();
    check_op_gradients("add_bias", {random_array(shapes[s], 10 + s), random_array({F}, 20 + s)});
  }
}

TEST_CASE("add_bias gradient of one input at a time", "[op][add_bias][gradcheck]") {
  check_each_input_alone("add_bias", {random_array({4, 3}, 1), random_array({3}, 2)});
}

TEST_CASE("add_bias shape rule", "[op][add_bias][shape]") {
  const OpDef& op = find_op("add_bias");
  CHECK(op.shape({{7, 3}, {3}}, {}) == std::vector<Shape>{{7, 3}});
  REQUIRE_THROWS_AS(op.shape({{2, 4}, {5}}, {}), ShapeError);
  REQUIRE_THROWS_WITH(op.shape({{2, 4}, {5}}, {}),
                      Catch::Contains("[5]") && Catch::Contains("[2, 4]"));
  REQUIRE_THROWS_AS(op.shape({{2, 4}, {1, 4}}, {}), ShapeError);
  REQUIRE_THROWS_WITH(op.shape({{2, 4}, {1, 4}}, {}), Catch::Contains("[1, 4]"));
  REQUIRE_THROWS_AS(op.shape({{}, {1}}, {}), ShapeError);
}

TEST_CASE("add forward and backward by hand", "[op][add]") {
  require_close(forward2("add", Array{1.0, 2.0}, Array{3.0, -5.0}), Array{4.0, -3.0}, 0, 0);
  const Array a = {{0.5, 1.0}, {2.0, 4.0}}, b = {{0.25, -1.0}, {8.0, 0.0}};
  require_close(forward2("add", a, b), Array{{0.75, 0.0}, {10.0, 4.0}}, 0, 0);
  const Array dy = {{1.0, 2.0}, {-3.0, 4.0}};
  const std::vector<Array> g = run_op_backward("add", {a, b}, {dy});
  require_close(g[0], dy, 0, 0);
  require_close(g[1], dy, 0, 0);
}

TEST_CASE("add gradient of both inputs", "[op][add][gradcheck]") {
  const std::vector<Shape> shapes = {{1}, {1, 6}, {4, 3}, {2, 3, 2}};
  for (std::size_t s = 0; s < shapes.size(); ++s) {
    CAPTURE(s);
    check_op_gradients("add", {random_array(shapes[s], 30 + s), random_array(shapes[s], 40 + s)});
  }
}

TEST_CASE("add gradient of one input at a time", "[op][add][gradcheck]") {
  check_each_input_alone("add", {random_array({2, 5}, 3), random_array({2, 5}, 4)});
}

TEST_CASE("add shape rule", "[op][add][shape]") {
  const OpDef& op = find_op("add");
  CHECK(op.shape({{3, 2}, {3, 2}}, {}) == std::vector<Shape>{{3, 2}});
  std::vector<Array> in{Array::from_shape({2, 3}), Array::from_shape({3, 2})};
  REQUIRE_THROWS_AS(run_op_forward("add", in), ShapeError);
  REQUIRE_THROWS_WITH(run_op_forward("add", in),
                      Catch::Contains("[2, 3]") && Catch::Contains("[3, 2]"));
  // No broadcasting: [4] and [1, 4] differ.
  REQUIRE_THROWS_AS(op.shape({{4}, {1, 4}}, {}), ShapeError);
}
