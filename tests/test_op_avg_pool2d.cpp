// avg_pool2d: values and gradients against PyTorch (with and without count_include_pad),
// gradients against central differences, and the shape rule.
#include <catch2/catch.hpp>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

using Ints = std::vector<std::int64_t>;

Attrs pool_attrs(Ints kernel, Ints stride = {}, Ints padding = {0, 0}, std::int64_t include_pad = 1) {
  return Attrs{{"kernel", kernel}, {"stride", stride}, {"padding", padding}, {"count_include_pad", include_pad}};
}

// dy of y's shape: 0.5 ((3 i) mod 7) - 1.5, as scripts/record_torch_avg_pool2d.py makes it.
Array make_dy(const Shape& s) {
  Array dy = Array::from_shape(std::vector<std::size_t>(s.begin(), s.end()));
  for (std::size_t i = 0; i < dy.size(); ++i) dy.flat(i) = 0.5 * static_cast<double>((3 * i) % 7) - 1.5;
  return dy;
}

void check_against(const Attrs& attrs, const Shape& y_shape, const std::vector<double>& y,
                   const std::vector<double>& dx) {
  const Array x = shaped({1, 2, 4, 5}, {
      -2.5, -0.75, 1, 2.75, -1.25, 0.5, 2.25, -1.75, 0, 1.75, -2.25, -0.5, 1.25, 3, -1, 0.75, 2.5, -1.5,
      0.25, 2, -2, -0.25, 1.5, -2.5, -0.75, 1, 2.75, -1.25, 0.5, 2.25, -1.75, 0, 1.75, -2.25, -0.5, 1.25,
      3, -1, 0.75, 2.5});
  std::vector<Array> in{x};
  require_close(run_op_forward("avg_pool2d", in, attrs)[0], shaped(y_shape, y), 1e-15, 1e-16);
  require_close(run_op_backward("avg_pool2d", {x}, {make_dy(y_shape)}, attrs)[0], shaped({1, 2, 4, 5}, dx), 1e-15,
                1e-15);
}

}  // namespace

// Recorded with PyTorch 1.13 in float64 (scripts/record_torch_avg_pool2d.py):
// F.avg_pool2d(x, ...) and x.grad after y.backward(dy).
TEST_CASE("avg_pool2d and its gradient match PyTorch's", "[op][avg_pool2d][reference]") {
  SECTION("kernel [2, 2], stride the kernel") {
    check_against(pool_attrs({2, 2}), {1, 2, 2, 2},
                  {-0.125, 0.5, 0.125, 0.75, 0.375, -0.4375, 0.625, -0.1875},
                  {-0.375, -0.375, 0, 0, 0, -0.375, -0.375, 0, 0, 0, 0.375, 0.375, -0.125, -0.125, 0, 0.375, 0.375,
                    -0.125, -0.125, 0, 0.25, 0.25, -0.25, -0.25, 0, 0.25, 0.25, -0.25, -0.25, 0, 0.125, 0.125, -0.375,
                    -0.375, 0, 0.125, 0.125, -0.375, -0.375, 0});
  }
  SECTION("kernel [3, 3], stride [1, 2], padding [1, 1], padding counted") {
    check_against(pool_attrs({3, 3}, {1, 2}, {1, 1}), {1, 2, 4, 3},
                  {-0.055555555555555552, 0.3888888888888889, 0.3611111111111111, -0.3611111111111111,
                    0.80555555555555558, 0.58333333333333337, 0.3611111111111111, 0.61111111111111116,
                    0.66666666666666663, 0.055555555555555552, 0.55555555555555558, 0.47222222222222221,
                    0.16666666666666666, 0.083333333333333329, -0.055555555555555552, -0.027777777777777776,
                    0.027777777777777776, -0.3611111111111111, 0.69444444444444442, 0.47222222222222221,
                    0.3611111111111111, 0.27777777777777779, 0.25, 0.055555555555555552},
                  {-0.22222222222222221, -0.1111111111111111, 0.1111111111111111, 0.16666666666666669,
                    0.055555555555555552, -0.16666666666666666, -0.22222222222222221, -0.055555555555555552,
                    2.7755575615628914e-17, 0.055555555555555552, 0.16666666666666666, 0.055555555555555552,
                    -0.1111111111111111, -0.1111111111111111, 0, 0.22222222222222221, 0, -0.22222222222222221,
                    -0.1111111111111111, 0.1111111111111111, -0.1111111111111111, 0.1111111111111111,
                    0.22222222222222221, 0, -0.22222222222222221, 0, 0.1111111111111111, 0.1111111111111111,
                    -0.055555555555555552, -0.16666666666666666, -0.055555555555555552, 2.7755575615628914e-17,
                    0.055555555555555552, 0.22222222222222221, 0.16666666666666666, -0.055555555555555552,
                    -0.16666666666666666, -0.1111111111111111, 0.1111111111111111, 0.22222222222222221});
  }
  SECTION("the same, count_include_pad 0") {
    check_against(pool_attrs({3, 3}, {1, 2}, {1, 1}, 0), {1, 2, 4, 3},
                  {-0.125, 0.58333333333333337, 0.8125, -0.54166666666666663, 0.80555555555555558, 0.875,
                    0.54166666666666663, 0.61111111111111116, 1, 0.125, 0.83333333333333337, 1.0625, 0.375, 0.125,
                    -0.125, -0.041666666666666664, 0.027777777777777776, -0.54166666666666663, 1.0416666666666667,
                    0.47222222222222221, 0.54166666666666663, 0.625, 0.375, 0.125},
                  {-0.45833333333333331, -0.34722222222222221, 0.1111111111111111, 0.31944444444444442,
                    0.20833333333333334, -0.375, -0.43055555555555558, -0.055555555555555552, 0.15277777777777776,
                    0.20833333333333334, 0.375, 0.2361111111111111, -0.1388888888888889, -0.055555555555555525,
                    0.083333333333333343, 0.45833333333333331, 0.20833333333333337, -0.25, 0, 0.25, -0.25,
                    -2.7755575615628914e-17, 0.25, -0.20833333333333337, -0.45833333333333331, -0.083333333333333343,
                    0.055555555555555525, 0.1388888888888889, -0.23611111111111116, -0.375, -0.20833333333333334,
                    -0.15277777777777779, 0.055555555555555552, 0.43055555555555558, 0.375, -0.20833333333333334,
                    -0.31944444444444442, -0.1111111111111111, 0.34722222222222221, 0.45833333333333331});
  }
}

TEST_CASE("avg_pool2d gradient", "[op][avg_pool2d][gradcheck]") {
  const Attrs settings[] = {pool_attrs({2, 2}), pool_attrs({3, 3}, {1, 1}), pool_attrs({3, 2}, {2, 1}, {1, 1}),
                            pool_attrs({3, 3}, {2, 2}, {1, 1}, 0), pool_attrs({1, 1})};
  std::uint64_t seed = 70;
  for (const Attrs& attrs : settings) {
    CAPTURE(seed);
    GradCheckOptions options;
    options.attrs = attrs;
    check_op_gradients("avg_pool2d", {random_array({2, 2, 5, 6}, seed++)}, options);
  }
}

TEST_CASE("avg_pool2d shape rule", "[op][avg_pool2d][shape]") {
  const OpDef& def = find_op("avg_pool2d");
  const auto shape = [&](const Shape& x, const Attrs& attrs) {
    return def.shape({x}, normalize_attrs(def, "pool", attrs));
  };
  CHECK(shape({8, 3, 28, 28}, {{"kernel", Ints{2, 2}}}) == std::vector<Shape>{{8, 3, 14, 14}});
  CHECK(shape({8, 3, 7, 7}, pool_attrs({3, 3}, {2, 2}, {1, 1})) == std::vector<Shape>{{8, 3, 4, 4}});
  CHECK(shape({1, 1, 5, 4}, pool_attrs({2, 3}, {1, 1})) == std::vector<Shape>{{1, 1, 4, 2}});
  CHECK_FALSE(def.inplace);
  CHECK_FALSE(def.backward_reads_in[0]);
  CHECK_FALSE(def.backward_reads_out[0]);
  CHECK_THAT(error_message<ShapeError>([&] { shape({1, 1, 4, 4}, pool_attrs({3, 3}, {1, 1}, {2, 1})); }),
             Contains("padding [2, 1] must be at most half the kernel [3, 3]"));
  CHECK_THAT(error_message<ShapeError>([&] { shape({1, 1, 4, 4}, pool_attrs({2, 2}, {}, {0, 0}, 2)); }),
             Contains("count_include_pad 2 must be 0 or 1"));
  CHECK_THAT(error_message<ShapeError>([&] { shape({1, 1, 2, 2}, pool_attrs({3, 3})); }),
             Contains("is larger than the padded input"));
  CHECK_THAT(error_message<ShapeError>([&] { shape({1, 1, 4}, pool_attrs({2, 2})); }), Contains("x must have rank 4"));
  CHECK_THAT(error_message<ShapeError>([&] { shape({1, 1, 4, 4}, pool_attrs({2})); }),
             Contains("attribute 'kernel' must have two entries"));
}
