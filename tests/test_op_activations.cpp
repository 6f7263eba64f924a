// relu, sigmoid, tanh: values by hand, gradients against central differences, and the
// gradient checker's own ability to fail (on deliberately broken toy ops).
#include <catch2/catch.hpp>
#include <cmath>
#include <xtensor/xmath.hpp>

#include "tests/gradcheck.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

const std::vector<Shape> kShapes = {{1, 1}, {1, 5}, {3, 4}, {7}, {2, 3, 4}};

Array forward1(const std::string& op, const Array& x) {
  std::vector<Array> in{x};
  return run_op_forward(op, in)[0];
}

Array backward1(const std::string& op, const Array& x, const Array& dy) {
  return run_op_backward(op, {x}, {dy})[0];
}

}  // namespace

TEST_CASE("relu forward and backward by hand", "[op][relu]") {
  require_close(forward1("relu", Array{-1.0, 2.0}), Array{0.0, 2.0}, 0, 0);
  const Array x = {{-1.5, 0.0, 3.0}, {2.0, -0.25, 0.5}};
  require_close(forward1("relu", x), Array{{0.0, 0.0, 3.0}, {2.0, 0.0, 0.5}}, 0, 0);
  const Array dy = {{10.0, 20.0, 30.0}, {40.0, 50.0, 60.0}};
  // The gradient at exactly 0 is taken as 0.
  require_close(backward1("relu", x, dy), Array{{0.0, 0.0, 30.0}, {40.0, 0.0, 60.0}}, 0, 0);
}

TEST_CASE("sigmoid forward and backward by hand", "[op][sigmoid]") {
  const Array x = {0.0, 2.0, -3.0};
  const Array y = {0.5, 0.8807970779778823, 0.04742587317756678};
  require_close(forward1("sigmoid", x), y, 1e-15);
  // dx = dy * y (1 - y)
  const Array dy = {1.0, 2.0, -1.0};
  require_close(backward1("sigmoid", x, dy),
                Array{0.25, 2.0 * y(1) * (1 - y(1)), -y(2) * (1 - y(2))}, 1e-14);
}

TEST_CASE("sigmoid saturates to exact 0 and 1 without NaN", "[op][sigmoid][stability]") {
  const Array x = {-1000.0, 1000.0, -40.0};
  const Array y = forward1("sigmoid", x);
  require_close(y, Array{0.0, 1.0, 1.0 / (1.0 + std::exp(40.0))}, 1e-14, 0);
  require_close(backward1("sigmoid", x, Array{1.0, 1.0, 1.0}),
                Array{0.0, 0.0, y(2) * (1 - y(2))}, 1e-14, 0);
}

TEST_CASE("tanh forward and backward by hand", "[op][tanh]") {
  const Array x = {0.0, 1.0, -0.5};
  const Array y = {0.0, 0.7615941559557649, -0.46211715726000974};
  require_close(forward1("tanh", x), y, 1e-15);
  // dx = dy * (1 - y^2)
  require_close(backward1("tanh", x, Array{3.0, 1.0, 2.0}),
                Array{3.0, 1 - y(1) * y(1), 2 * (1 - y(2) * y(2))}, 1e-14);
  require_close(forward1("tanh", Array{-1000.0, 1000.0}), Array{-1.0, 1.0}, 0, 0);
}

TEST_CASE("relu gradient, inputs away from the kink", "[op][relu][gradcheck]") {
  for (std::size_t s = 0; s < kShapes.size(); ++s) {
    CAPTURE(s);
    check_op_gradients("relu", {random_away_from_zero(kShapes[s], 100 + s)});
  }
}

TEST_CASE("sigmoid gradient", "[op][sigmoid][gradcheck]") {
  for (std::size_t s = 0; s < kShapes.size(); ++s) {
    CAPTURE(s);
    check_op_gradients("sigmoid", {random_array(kShapes[s], 200 + s, -4.0, 4.0)});
  }
}

TEST_CASE("tanh gradient", "[op][tanh][gradcheck]") {
  for (std::size_t s = 0; s < kShapes.size(); ++s) {
    CAPTURE(s);
    check_op_gradients("tanh", {random_array(kShapes[s], 300 + s, -3.0, 3.0)});
  }
}

TEST_CASE("activations keep their input's shape", "[op][activations]") {
  for (const char* op : {"relu", "sigmoid", "tanh"}) {
    const OpDef& def = find_op(op);
    CHECK(def.shape({{4, 2, 3}}, {}) == std::vector<Shape>{{4, 2, 3}});
    CHECK(def.inplace);
    CHECK(def.backward_inplace);
  }
}

TEST_CASE("random test data is deterministic and in range", "[gradcheck]") {
  const Array a = random_array({50}, 42, -2.0, 3.0), b = random_array({50}, 42, -2.0, 3.0);
  require_close(a, b, 0, 0);
  CHECK(xt::amin(a)() >= -2.0);
  CHECK(xt::amax(a)() < 3.0);
  CHECK(xt::amax(xt::abs(a - random_array({50}, 43, -2.0, 3.0)))() > 0.1);
  const Array z = random_away_from_zero({200}, 5, 0.1);
  CHECK(xt::amin(xt::abs(z))() >= 0.1);
  CHECK(xt::amax(xt::abs(z))() < 1.0);
  CHECK(xt::amin(z)() < 0.0);
  CHECK(xt::amax(z)() > 0.0);
}

// ---------------------------------------------------------------------------------------
// The checker's own tests. Each op below breaks exactly one rule the checker enforces;
// its test is tagged [!shouldfail], so Catch counts it as passed only if the checker fails.
// The same ops without the defect pass (the "control" test), so each failure is the
// defect's.
namespace {

enum Defect { kNone, kWrongGrad, kZeroGrad, kIgnoresAccumulate };

// y = 2 x on the positive side, 0 elsewhere (a scaled relu), with an optional defect.
template <Defect D>
struct Scaled {
  template <class T>
  static void forward(const OpArgs<T>& a) {
    for (std::size_t i = 0; i < a.out[0].size(); ++i)
      a.out[0][i] = D == kZeroGrad ? T(0) : (a.in[0][i] > T(0) ? T(2) * a.in[0][i] : T(0));
  }
  template <class T>
  static void backward(const OpArgs<T>& a) {
    const bool acc = a.accumulates(0) && D != kIgnoresAccumulate;
    for (std::size_t i = 0; i < a.d_in[0].size(); ++i) {
      T g = a.in[0][i] > T(0) ? T(2) * a.d_out[0][i] : T(0);
      if (D == kWrongGrad) g *= T(1.001);
      if (D == kZeroGrad) g = T(0);
      a.d_in[0][i] = acc ? a.d_in[0][i] + g : g;
    }
  }
};

// y[i] = x[n-1-i]: correct gradients, but neither kernel may run aliased.
template <class T>
void reverse_forward(const OpArgs<T>& a) {
  const std::size_t n = a.out[0].size();
  for (std::size_t i = 0; i < n; ++i) a.out[0][i] = a.in[0][n - 1 - i];
}
template <class T>
void reverse_backward(const OpArgs<T>& a) {
  const std::size_t n = a.d_in[0].size();
  for (std::size_t i = 0; i < n; ++i) {
    const T g = a.d_out[0][n - 1 - i];
    a.d_in[0][i] = a.accumulates(0) ? a.d_in[0][i] + g : g;
  }
}

OpDef unary(const std::string& name) {
  OpDef d;
  d.name = name;
  d.inputs = {"x"};
  d.outputs = {"y"};
  d.shape = [](const std::vector<Shape>& in, const Attrs&) { return std::vector<Shape>{in[0]}; };
  d.differentiable = {true};
  d.backward_reads_in = {true};
  d.backward_reads_out = {false};
  return d;
}

template <Defect D>
void register_scaled(const std::string& name) {
  OpDef d = unary(name);
  d.f32 = {&Scaled<D>::template forward<float>, &Scaled<D>::template backward<float>};
  d.f64 = {&Scaled<D>::template forward<double>, &Scaled<D>::template backward<double>};
  register_op(std::move(d));
}

void register_reverse(const std::string& name, bool inplace, bool backward_inplace) {
  OpDef d = unary(name);
  d.inplace = inplace;
  d.backward_inplace = backward_inplace;
  PLANGRAD_SET_KERNELS(d, reverse_forward, reverse_backward);
  register_op(std::move(d));
}

void register_test_ops() {
  static const bool once = [] {
    register_scaled<kNone>("test_scaled");
    register_scaled<kWrongGrad>("test_scaled_wrong_grad");
    register_scaled<kZeroGrad>("test_scaled_zero_grad");
    register_scaled<kIgnoresAccumulate>("test_scaled_ignores_accumulate");
    register_reverse("test_reverse", false, false);
    register_reverse("test_reverse_bad_inplace", true, false);
    register_reverse("test_reverse_bad_backward_inplace", false, true);
    return true;
  }();
  (void)once;
}

const Array kX = random_away_from_zero({3, 4}, 11);

}  // namespace

TEST_CASE("gradcheck control: correct ops pass", "[gradcheck]") {
  register_test_ops();
  check_op_gradients("test_scaled", {kX});
  check_op_gradients("test_reverse", {kX});
}

TEST_CASE("gradcheck catches a gradient off by 0.1%", "[gradcheck][!shouldfail]") {
  register_test_ops();
  check_op_gradients("test_scaled_wrong_grad", {kX});
}

TEST_CASE("gradcheck refuses two all-zero gradients", "[gradcheck][!shouldfail]") {
  register_test_ops();
  check_op_gradients("test_scaled_zero_grad", {kX});
}

TEST_CASE("gradcheck catches a backward that ignores accumulate", "[gradcheck][!shouldfail]") {
  register_test_ops();
  check_op_gradients("test_scaled_ignores_accumulate", {kX});
}

TEST_CASE("gradcheck catches a forward that is not safe in place", "[gradcheck][!shouldfail]") {
  register_test_ops();
  check_op_gradients("test_reverse_bad_inplace", {kX});
}

TEST_CASE("gradcheck catches a backward that is not safe in place", "[gradcheck][!shouldfail]") {
  register_test_ops();
  check_op_gradients("test_reverse_bad_backward_inplace", {kX});
}

TEST_CASE("the kernels see attributes checked and normalized as the planner does", "[gradcheck]") {
  GradCheckOptions options;
  options.attrs.set("alpha", 0.1);
  REQUIRE_THROWS_WITH(check_op_gradients("relu", {kX}, options),
                      Catch::Contains("relu") && Catch::Contains("unknown attribute 'alpha'"));
  std::vector<Array> in{kX};
  REQUIRE_THROWS_WITH(run_op_forward("normalize", in, Attrs{{"std", std::string("wide")}}),
                      Catch::Contains("attribute 'std' must be a number, got"));
  REQUIRE_THROWS_WITH(run_op_forward("max_pool2d", in), Catch::Contains("missing attribute 'kernel'"));
  // An integer is a fine float: std 2 halves x.
  require_close(run_op_forward("normalize", in, Attrs{{"std", std::int64_t{2}}})[0], kX / 2.0, 0, 0);
}
