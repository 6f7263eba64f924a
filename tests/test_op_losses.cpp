// mse_loss, softmax_cross_entropy, binary_cross_entropy_with_logits: values by hand,
// gradients of every differentiable input, stability at logits of +-1000, bad labels.
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <xtensor/xmath.hpp>

#include <xtensor/xstrided_view.hpp>

#include "tests/gradcheck.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

double loss(const std::string& op, const Array& a, const Array& b) {
  std::vector<Array> in{a, b};
  const std::vector<Array> out = run_op_forward(op, in);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].dimension() == 0);  // a scalar, shape {}
  return out[0]();
}

// Gradients of the loss with dL = `scale`.
std::vector<Array> grads(const std::string& op, const Array& a, const Array& b, double scale = 1.0) {
  return run_op_backward(op, {a, b}, {Array(scale)});
}

// Integer class labels in [0, C), stored as doubles as the op expects.
// (A plain loop: GCC 12 warns falsely inside xsimd's AVX-512 floor.)
Array random_labels(Dim n, Dim classes, std::uint64_t seed) {
  Array labels = random_array({n}, seed, 0.0, static_cast<double>(classes));
  for (double& v : labels) v = std::floor(v);
  return labels;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

// ---- mse_loss --------------------------------------------------------------------------

TEST_CASE("mse_loss by hand", "[op][mse_loss]") {
  const Array p = {1.0, 2.0, 3.0}, t = {1.0, 0.0, 5.0};
  // (0^2 + 2^2 + (-2)^2) / 3
  CHECK(loss("mse_loss", p, t) == Approx(8.0 / 3.0).epsilon(1e-15));
  CHECK(loss("mse_loss", xt::reshape_view(Array{0.5}, {1, 1}), xt::reshape_view(Array{-0.5}, {1, 1})) == 1.0);

  // dp = dL * 2 (p - t) / n, dt = -dp
  const std::vector<Array> g = grads("mse_loss", p, t, 0.5);
  require_close(g[0], Array{0.0, 2.0 / 3.0, -2.0 / 3.0}, 1e-15);
  require_close(g[1], Array{0.0, -2.0 / 3.0, 2.0 / 3.0}, 1e-15);
}

TEST_CASE("mse_loss gradient of prediction and target", "[op][mse_loss][gradcheck]") {
  const std::vector<Shape> shapes = {{1}, {1, 5}, {4, 3}, {2, 3, 2}};
  for (std::size_t s = 0; s < shapes.size(); ++s) {
    CAPTURE(s);
    check_op_gradients("mse_loss", {random_array(shapes[s], 10 + s), random_array(shapes[s], 20 + s)});
  }
}

TEST_CASE("mse_loss gradient of one input at a time", "[op][mse_loss][gradcheck]") {
  check_each_input_alone("mse_loss", {random_array({3, 2}, 1), random_array({3, 2}, 2)});
}

TEST_CASE("mse_loss shape rule", "[op][mse_loss][shape]") {
  const OpDef& op = find_op("mse_loss");
  CHECK(op.shape({{5, 2}, {5, 2}}, {}) == std::vector<Shape>{Shape{}});
  std::vector<Array> in{Array::from_shape({3}), Array::from_shape({4})};
  REQUIRE_THROWS_AS(run_op_forward("mse_loss", in), ShapeError);
  REQUIRE_THROWS_WITH(run_op_forward("mse_loss", in), Catch::Contains("[3]") && Catch::Contains("[4]"));
}

// ---- softmax_cross_entropy -------------------------------------------------------------

TEST_CASE("softmax_cross_entropy by hand", "[op][softmax_cross_entropy]") {
  const Array z = {{1.0, 2.0, 3.0}, {1.0, 1.0, 1.0}, {0.5, -1.0, 0.0}};
  const Array labels = {2.0, 0.0, 1.0};
  // Row r: log(sum_c exp z[r,c]) - z[r, label_r]; the loss is the mean over rows.
  const double s0 = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const double s2 = std::exp(0.5) + std::exp(-1.0) + std::exp(0.0);
  const double l0 = std::log(s0) - 3.0, l1 = std::log(3.0), l2 = std::log(s2) + 1.0;
  CHECK(loss("softmax_cross_entropy", z, labels) == Approx((l0 + l1 + l2) / 3.0).epsilon(1e-14));

  // dz[r,c] = dL (softmax(z_r)[c] - [c == label_r]) / N
  const std::vector<Array> g = grads("softmax_cross_entropy", z, labels, 3.0);
  const Array want = {{std::exp(1.0) / s0, std::exp(2.0) / s0, std::exp(3.0) / s0 - 1.0},
                      {1.0 / 3.0 - 1.0, 1.0 / 3.0, 1.0 / 3.0},
                      {std::exp(0.5) / s2, std::exp(-1.0) / s2 - 1.0, 1.0 / s2}};
  require_close(g[0], want, 1e-14);
  CHECK(g[1].size() == 0);  // labels get no gradient
}

TEST_CASE("softmax_cross_entropy with one class is zero", "[op][softmax_cross_entropy]") {
  CHECK(loss("softmax_cross_entropy", xt::reshape_view(Array{5.0, -3.0}, {2, 1}), Array{0.0, 0.0}) == 0.0);
}

TEST_CASE("softmax_cross_entropy gradient of the logits", "[op][softmax_cross_entropy][gradcheck]") {
  const std::vector<std::array<Dim, 2>> sizes = {{1, 2}, {1, 5}, {4, 3}, {6, 10}, {3, 2}};
  for (std::size_t s = 0; s < sizes.size(); ++s) {
    const auto [N, C] = sizes[s];
    CAPTURE(N, C);
    const GradCheckResult r = check_op_gradients(
        "softmax_cross_entropy", {random_array({N, C}, 30 + s, -3.0, 3.0), random_labels(N, C, 40 + s)});
    REQUIRE(r.relative_error.size() == 1);  // the labels are not checked
  }
}

TEST_CASE("softmax_cross_entropy is stable at logits of +-1000", "[op][softmax_cross_entropy][stability]") {
  const Array z = {{1000.0, -1000.0, 999.0}, {-1000.0, -1000.0, -1000.0}, {1000.0, -1000.0, 0.0}};
  const Array labels = {2.0, 1.0, 0.0};
  // exp(-2000) and exp(-1000) are 0 in double: row 0 is the two-class problem
  // {1000, 999}, row 1 three equal logits, row 2 certain and right.
  const double e = std::exp(-1.0);
  const double l0 = std::log(1.0 + e) + 1.0, l1 = std::log(3.0), l2 = 0.0;
  const double L = loss("softmax_cross_entropy", z, labels);
  REQUIRE(std::isfinite(L));
  // lse(row 0) = 1000 + log(1 + e) carries the rounding of a number near 1000.
  CHECK(L == Approx((l0 + l1 + l2) / 3.0).epsilon(1e-12));

  const Array g = grads("softmax_cross_entropy", z, labels)[0];
  const Array want = Array{{1.0 / (1.0 + e), 0.0, e / (1.0 + e) - 1.0},
                           {1.0 / 3.0, 1.0 / 3.0 - 1.0, 1.0 / 3.0},
                           {0.0, 0.0, 0.0}} / 3.0;
  require_close(g, want, 1e-14);
  // Central differences at this size of logit carry ~1e-7 of rounding: a looser bound.
  GradCheckOptions options;
  options.tolerance = 1e-5;
  check_op_gradients("softmax_cross_entropy", {z, labels}, options);
}

TEST_CASE("softmax_cross_entropy refuses labels that are not class indices",
          "[op][softmax_cross_entropy][data]") {
  const Array z = {{0.1, 0.2, 0.3}, {0.0, 0.0, 0.0}};
  for (double bad : {3.0, 1.5, -1.0, 100.0, std::numeric_limits<double>::quiet_NaN()}) {
    CAPTURE(bad);
    std::vector<Array> in{z, Array{0.0, bad}};
    REQUIRE_THROWS_AS(run_op_forward("softmax_cross_entropy", in), DataError);
    REQUIRE_THROWS_WITH(run_op_forward("softmax_cross_entropy", in),
                        Catch::Contains("row 1") && Catch::Contains("[0, 3)"));
    REQUIRE_THROWS_AS(run_op_backward("softmax_cross_entropy", in, {Array(1.0)}), DataError);
  }
  std::vector<Array> good{z, Array{2.0, 0.0}};
  REQUIRE_NOTHROW(run_op_forward("softmax_cross_entropy", good));
}

TEST_CASE("softmax_cross_entropy shape rule", "[op][softmax_cross_entropy][shape]") {
  const OpDef& op = find_op("softmax_cross_entropy");
  CHECK(op.shape({{8, 10}, {8}}, {}) == std::vector<Shape>{Shape{}});
  REQUIRE_THROWS_AS(op.shape({{2, 4}, {3}}, {}), ShapeError);
  REQUIRE_THROWS_WITH(op.shape({{2, 4}, {3}}, {}), Catch::Contains("[3]") && Catch::Contains("[2, 4]"));
  REQUIRE_THROWS_AS(op.shape({{8}, {8}}, {}), ShapeError);
  REQUIRE_THROWS_WITH(op.shape({{8}, {8}}, {}), Catch::Contains("[8]"));
  REQUIRE_THROWS_AS(op.shape({{2, 4}, {2, 1}}, {}), ShapeError);
}

// ---- binary_cross_entropy_with_logits --------------------------------------------------

TEST_CASE("binary_cross_entropy_with_logits by hand", "[op][bce]") {
  const Array x = {0.0, 2.0, -1.0}, t = {1.0, 0.0, 0.5};
  // The textbook form: -(t log s(x) + (1 - t) log(1 - s(x))), averaged.
  double want = 0;
  for (std::size_t i = 0; i < 3; ++i)
    want -= t(i) * std::log(sigmoid(x(i))) + (1 - t(i)) * std::log(1 - sigmoid(x(i)));
  CHECK(loss("binary_cross_entropy_with_logits", x, t) == Approx(want / 3.0).epsilon(1e-14));

  // dx = dL (s(x) - t) / n,  dt = -dL x / n
  const std::vector<Array> g = grads("binary_cross_entropy_with_logits", x, t, 3.0);
  require_close(g[0], Array{0.5 - 1.0, sigmoid(2.0), sigmoid(-1.0) - 0.5}, 1e-14);
  require_close(g[1], Array{0.0, -2.0, 1.0}, 1e-15);
}

TEST_CASE("binary_cross_entropy_with_logits gradient of logits and targets", "[op][bce][gradcheck]") {
  const std::vector<Shape> shapes = {{1}, {1, 1}, {6}, {3, 4}, {2, 2, 3}};
  for (std::size_t s = 0; s < shapes.size(); ++s) {
    CAPTURE(s);
    check_op_gradients("binary_cross_entropy_with_logits",
                       {random_array(shapes[s], 50 + s, -4.0, 4.0), random_array(shapes[s], 60 + s, 0.0, 1.0)});
  }
}

TEST_CASE("binary_cross_entropy_with_logits gradient of one input at a time", "[op][bce][gradcheck]") {
  check_each_input_alone("binary_cross_entropy_with_logits",
                         {random_array({2, 3}, 3, -4.0, 4.0), random_array({2, 3}, 4, 0.0, 1.0)});
}

TEST_CASE("binary_cross_entropy_with_logits is stable at logits of +-1000", "[op][bce][stability]") {
  const Array x = {1000.0, -1000.0, 1000.0, -1000.0}, t = {1.0, 0.0, 0.0, 1.0};
  // Right and certain: 0. Wrong and certain: |x| = 1000 (not inf, not NaN).
  const double L = loss("binary_cross_entropy_with_logits", x, t);
  REQUIRE(std::isfinite(L));
  CHECK(L == Approx(500.0).epsilon(1e-15));
  const std::vector<Array> g = grads("binary_cross_entropy_with_logits", x, t);
  require_close(g[0], Array{0.0, 0.0, 0.25, -0.25}, 1e-15);
  require_close(g[1], Array{-250.0, 250.0, -250.0, 250.0}, 1e-15);
  GradCheckOptions options;
  options.tolerance = 1e-5;  // rounding of ~1e-7 in central differences at |x| = 1000
  check_op_gradients("binary_cross_entropy_with_logits", {x, Array{0.25, 0.0, 0.75, 1.0}}, options);
}

TEST_CASE("binary_cross_entropy_with_logits shape rule", "[op][bce][shape]") {
  const OpDef& op = find_op("binary_cross_entropy_with_logits");
  CHECK(op.shape({{4, 1}, {4, 1}}, {}) == std::vector<Shape>{Shape{}});
  REQUIRE_THROWS_AS(op.shape({{4, 1}, {4}}, {}), ShapeError);
  REQUIRE_THROWS_WITH(op.shape({{4, 1}, {4}}, {}), Catch::Contains("[4, 1]") && Catch::Contains("[4]"));
}
