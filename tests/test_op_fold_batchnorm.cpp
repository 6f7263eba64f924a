// fold_conv_bn / fold_conv_nobias_bn: the folded convolution computes what the convolution
// and the Eval-mode batchnorm after it compute (the ops' own kernels, in double), the
// bias-free op is the other with a zero bias, shape errors, and no gradient rule.
#include <catch2/catch.hpp>
#include <cmath>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

const Shape kX{2, 3, 5, 4}, kW{4, 3, 3, 2}, kF{4};
const Attrs kConv{{"padding", std::vector<std::int64_t>{1, 0}}, {"stride", std::vector<std::int64_t>{1, 2}}};

// gamma, beta, running_mean, running_var; small variances, where eps matters.
std::vector<Array> bn_params(std::uint64_t seed) {
  return {random_array(kF, seed, 0.5, 2.0), random_array(kF, seed + 1, -0.5, 0.5),
          random_array(kF, seed + 2, -0.5, 0.5), random_array(kF, seed + 3, 1e-4, 1e-2)};
}

double max_abs_diff(const Array& a, const Array& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a.flat(i) - b.flat(i)));
  return m;
}

}  // namespace

TEST_CASE("fold_conv_bn: conv2d with the folded weights is conv2d then Eval batchnorm", "[op][fold_batchnorm]") {
  const Attrs bn_attrs{{"eps", 1e-3}};
  const Array x = random_array(kX, 1, -2.0, 2.0), w = random_array(kW, 2), b = random_array(kF, 3);
  const std::vector<Array> p = bn_params(4);

  std::vector<Array> conv_in{x, w, b};
  std::vector<Array> bn_in{run_op_forward("conv2d", conv_in, kConv, Mode::Eval)[0], p[0], p[1], p[2], p[3]};
  const Array want = run_op_forward("batchnorm", bn_in, bn_attrs, Mode::Eval)[0];

  std::vector<Array> fold_in{w, b, p[0], p[1], p[2], p[3]};
  const std::vector<Array> folded = run_op_forward("fold_conv_bn", fold_in, bn_attrs, Mode::Eval);
  REQUIRE(folded.size() == 2);
  CHECK(folded[0].shape() == w.shape());
  std::vector<Array> folded_in{x, folded[0], folded[1]};
  const Array got = run_op_forward("conv2d", folded_in, kConv, Mode::Eval)[0];
  CHECK(max_abs_diff(got, want) < 1e-12);
  CHECK(max_abs_diff(got, bn_in[0]) > 0.1);  // the batchnorm is not the identity here

  // Without a bias: the same as a zero bias.
  std::vector<Array> nobias_in{w, p[0], p[1], p[2], p[3]};
  std::vector<Array> zero_in{w, xt::zeros<double>(kF), p[0], p[1], p[2], p[3]};
  const std::vector<Array> nb = run_op_forward("fold_conv_nobias_bn", nobias_in, bn_attrs, Mode::Eval);
  const std::vector<Array> zb = run_op_forward("fold_conv_bn", zero_in, bn_attrs, Mode::Eval);
  CHECK(max_abs_diff(nb[0], zb[0]) == 0);
  CHECK(max_abs_diff(nb[1], zb[1]) == 0);
}

TEST_CASE("fold_conv_bn: the default eps is batchnorm's", "[op][fold_batchnorm]") {
  const Array w = random_array(kW, 5), b = random_array(kF, 6);
  const std::vector<Array> p = bn_params(7);
  std::vector<Array> in{w, b, p[0], p[1], p[2], p[3]};
  const std::vector<Array> f = run_op_forward("fold_conv_bn", in, {}, Mode::Eval);
  for (std::size_t c = 0; c < 4; ++c) {
    const double s = p[0](c) / std::sqrt(p[3](c) + 1e-5);
    CHECK(f[1](c) == Approx((b(c) - p[2](c)) * s + p[1](c)).epsilon(1e-14));
    CHECK(f[0](c, 1, 2, 1) == Approx(w(c, 1, 2, 1) * s).epsilon(1e-14));
  }
}

TEST_CASE("fold_conv_bn: shape errors and no gradient rule", "[op][fold_batchnorm]") {
  const OpDef& op = find_op("fold_conv_bn");
  CHECK(op.f32.backward == nullptr);
  CHECK(op.f64.backward == nullptr);
  CHECK(find_op("fold_conv_nobias_bn").f32.backward == nullptr);
  const std::vector<Shape> in{kW, kF, kF, Shape{3}, kF, kF};
  CHECK_THAT(error_message<ShapeError>([&] { infer_output_shapes(op, "f", in, normalize_attrs(op, "f", {})); }),
             Contains("beta [3] does not match the 4 filters of w [4, 3, 3, 2]"));
  const std::vector<Shape> ok{kW, kF, kF, kF, kF, kF};
  CHECK_THAT(error_message<ShapeError>([&] { infer_output_shapes(op, "f", ok, normalize_attrs(op, "f", {{"eps", 0.0}})); }),
             Contains("'eps' must be a positive normal float"));
  CHECK(infer_output_shapes(op, "f", ok, normalize_attrs(op, "f", {})) == std::vector<Shape>{kW, kF});
  const OpDef& nb = find_op("fold_conv_nobias_bn");
  CHECK_THAT(error_message<ShapeError>([&] {
               infer_output_shapes(nb, "f", {kW, kF, kF, kF, Shape{5}}, normalize_attrs(nb, "f", {}));
             }),
             Contains("running_var [5] does not match"));
  CHECK(op.check_data(5, std::vector<float>{1.0f, -1.0f}.data(), 2) != "");
  CHECK(op.check_data(4, std::vector<float>{1.0f, -1.0f}.data(), 2) == "");
  CHECK(nb.check_data(4, std::vector<float>{1.0f, -1.0f}.data(), 2) != "");
}
