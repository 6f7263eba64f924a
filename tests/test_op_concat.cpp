// concat: values by hand along each axis, the gradient through the shared checker for
// two and three inputs, one input alone, and the shape rule.
#include <catch2/catch.hpp>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

Attrs axis(std::int64_t a) { return Attrs{{"axis", a}}; }

}  // namespace

TEST_CASE("concat by hand along each axis", "[op][concat]") {
  const Array a = {{1.0, 2.0}, {3.0, 4.0}}, b = shaped({2, 1}, {5.0, 6.0}), c = shaped({1, 2}, {7.0, 8.0});
  std::vector<Array> ab{a, b};
  require_close(run_op_forward("concat", ab)[0], Array{{1.0, 2.0, 5.0}, {3.0, 4.0, 6.0}}, 0, 0);
  require_close(run_op_forward("concat", ab, axis(-1))[0], Array{{1.0, 2.0, 5.0}, {3.0, 4.0, 6.0}}, 0, 0);
  std::vector<Array> ac{a, c, a};
  require_close(run_op_forward("concat", ac, axis(0))[0],
                Array{{1.0, 2.0}, {3.0, 4.0}, {7.0, 8.0}, {1.0, 2.0}, {3.0, 4.0}}, 0, 0);
  // The gradient of each input is its block of dy.
  const Array dy = {{0.5, -1.0, 2.0}, {3.0, 0.25, -4.0}};
  const std::vector<Array> d = run_op_backward("concat", {a, b}, {dy});
  require_close(d[0], Array{{0.5, -1.0}, {3.0, 0.25}}, 0, 0);
  require_close(d[1], shaped({2, 1}, {2.0, -4.0}), 0, 0);
}

TEST_CASE("concat gradient", "[op][concat][gradcheck]") {
  check_op_gradients("concat", {random_array({2, 3, 4}, 61), random_array({2, 1, 4}, 62), random_array({2, 2, 4}, 63)});
  GradCheckOptions last;
  last.attrs = axis(-1);
  check_op_gradients("concat", {random_array({3, 2}, 64), random_array({3, 5}, 65)}, last);
  GradCheckOptions first;
  first.attrs = axis(0);
  check_op_gradients("concat", {random_array({1, 4}, 66), random_array({2, 4}, 67)}, first);
  check_each_input_alone("concat", {random_array({2, 2, 3}, 68), random_array({2, 3, 3}, 69)});
  check_op_gradients("concat", {random_array({2, 3}, 70)});  // one input: a copy
}

TEST_CASE("concat shape rule", "[op][concat][shape]") {
  const OpDef& def = find_op("concat");
  CHECK(def.variadic);
  CHECK(def.takes(1));
  CHECK(def.takes(5));
  CHECK_FALSE(def.takes(0));
  const Attrs a = normalize_attrs(def, "c", {});
  CHECK(a.get_int("axis") == 1);
  CHECK(def.shape({{4, 3, 5, 5}, {4, 8, 5, 5}}, a) == std::vector<Shape>{{4, 11, 5, 5}});
  CHECK(def.shape({{4, 3}, {4, 3}, {4, 3}}, axis(-1)) == std::vector<Shape>{{4, 9}});
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{4, 3}, {5, 3}}, a); }),
             Contains("x1 [5, 3] does not match x0 [4, 3] but along axis 1"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{4, 3}, {4, 3, 1}}, a); }), Contains("does not match"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{4, 3}}, axis(2)); }), Contains("axis 2 is outside"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{4, 3}}, axis(-3)); }), Contains("axis -3 is outside"));
}
