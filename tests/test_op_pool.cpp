// max_pool2d: values and gradient routing by hand (ties, overlapping windows, padding),
// gradients against central differences on inputs with distinct values, shape errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <xtensor/xbuilder.hpp>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"
#include "tests/kernel_harness.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

using Ints = std::vector<std::int64_t>;

// Distinct values in (-1, 1), 2/n apart, shuffled: a central difference of 1e-6 never
// changes which element of a window is the maximum (ties make the gradient undefined).
// Kept small so that the loss, and with it the difference's rounding error, stays small.
Array distinct_array(const Shape& shape, std::uint64_t seed) {
  std::vector<double> v(numel(shape));
  const double n = static_cast<double>(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = -1.0 + (2.0 * static_cast<double>(i) + 1.0) / n;
  std::mt19937_64 rng(seed);
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
  return shaped(shape, v);
}

Attrs pool_attrs(Ints kernel, Ints stride = {}, Ints padding = {0, 0}) {
  return Attrs{{"kernel", kernel}, {"stride", stride}, {"padding", padding}};
}

Array pool(const Array& x, const Attrs& attrs) {
  std::vector<Array> in{x};
  return run_op_forward("max_pool2d", in, attrs)[0];
}

Array pool_grad(const Array& x, const Array& dy, const Attrs& attrs) {
  return run_op_backward("max_pool2d", {x}, {dy}, attrs)[0];
}

void check_pool(const Shape& x, const Attrs& attrs, std::uint64_t seed) {
  GradCheckOptions options;
  options.attrs = attrs;
  check_op_gradients("max_pool2d", {distinct_array(x, seed)}, options);
}

}  // namespace

TEST_CASE("max_pool2d by hand: kernel 2, stride 2", "[op][max_pool2d]") {
  const Array x = shaped({1, 1, 4, 4}, {1, 5, 2, 0,  //
                                        3, 4, 8, 6,  //
                                        7, 0, 9, 1,  //
                                        2, 6, 3, 4});
  require_close(pool(x, pool_attrs({2, 2})), shaped({1, 1, 2, 2}, {5, 8, 7, 9}), 0, 0);
  // Each output's gradient goes to its window's maximum.
  const Array dy = shaped({1, 1, 2, 2}, {10, 20, 30, 40});
  require_close(pool_grad(x, dy, pool_attrs({2, 2})), shaped({1, 1, 4, 4}, {0, 10, 0, 0,   //
                                                                           0, 0, 20, 0,   //
                                                                           30, 0, 40, 0,  //
                                                                           0, 0, 0, 0}),
                0, 0);
}

TEST_CASE("max_pool2d by hand: overlapping windows route into one cell", "[op][max_pool2d]") {
  // kernel 3, stride 2, padding 1 on 3x3: OH = OW = (3 + 2 - 3) / 2 + 1 = 2, and every
  // window holds the centre 9.
  const Array x = shaped({1, 1, 3, 3}, {1, 2, 3, 4, 9, 5, 6, 7, 8});
  const Attrs attrs = pool_attrs({3, 3}, {2, 2}, {1, 1});
  require_close(pool(x, attrs), shaped({1, 1, 2, 2}, {9, 9, 9, 9}), 0, 0);
  require_close(pool_grad(x, shaped({1, 1, 2, 2}, {1, 2, 3, 4}), attrs),
                shaped({1, 1, 3, 3}, {0, 0, 0, 0, 1 + 2 + 3 + 4, 0, 0, 0, 0}), 0, 0);
}

TEST_CASE("max_pool2d: padding is -inf, never selected", "[op][max_pool2d]") {
  // All inputs negative: a zero-padded pool would return 0 at the border.
  const Array x = shaped({1, 1, 2, 2}, {-4, -3, -2, -1});
  const Attrs attrs = pool_attrs({2, 2}, {1, 1}, {1, 1});  // OH = OW = 3
  require_close(pool(x, attrs), shaped({1, 1, 3, 3}, {-4, -3, -3,  //
                                                       -2, -1, -1,  //
                                                       -2, -1, -1}),
                0, 0);
  // dy = 1: each cell collects one per window whose maximum it is.
  require_close(pool_grad(x, xt::ones<double>({1, 1, 3, 3}), attrs),
                shaped({1, 1, 2, 2}, {1, 2, 2, 4}), 0, 0);
}

TEST_CASE("max_pool2d: a tie sends the gradient to the first index", "[op][max_pool2d]") {
  const Attrs attrs = pool_attrs({2, 2});
  require_close(pool_grad(shaped({1, 1, 2, 2}, {1, 1, 1, 1}), shaped({1, 1, 1, 1}, {5}), attrs),
                shaped({1, 1, 2, 2}, {5, 0, 0, 0}), 0, 0);
  require_close(pool_grad(shaped({1, 1, 2, 2}, {0, 3, 3, 3}), shaped({1, 1, 1, 1}, {5}), attrs),
                shaped({1, 1, 2, 2}, {0, 5, 0, 0}), 0, 0);
  require_close(pool_grad(shaped({1, 1, 2, 2}, {0, 1, 3, 3}), shaped({1, 1, 1, 1}, {5}), attrs),
                shaped({1, 1, 2, 2}, {0, 0, 5, 0}), 0, 0);
}

TEST_CASE("max_pool2d: channels and images pool separately", "[op][max_pool2d]") {
  // x[2,2,2,2]: every plane pools to its own maximum.
  const Array x = shaped({2, 2, 2, 2}, {1, 2, 3, 4, -1, -2, -3, -4, 8, 7, 6, 5, 0, 0.5, 0.25, 0});
  require_close(pool(x, pool_attrs({2, 2})), shaped({2, 2, 1, 1}, {4, -1, 8, 0.5}), 0, 0);
}

TEST_CASE("max_pool2d gradients: kernel 2, stride 2", "[op][max_pool2d][gradcheck]") {
  check_pool({2, 3, 4, 6}, pool_attrs({2, 2}), 10);
  check_pool({2, 2, 5, 5}, pool_attrs({2, 2}, {2, 2}), 11);  // the last row and column unused
}

TEST_CASE("max_pool2d gradients: kernel 3, stride 2, overlapping, padding 1",
          "[op][max_pool2d][gradcheck]") {
  check_pool({2, 2, 5, 5}, pool_attrs({3, 3}, {2, 2}, {1, 1}), 20);
  check_pool({1, 3, 6, 7}, pool_attrs({3, 3}, {2, 2}, {1, 1}), 21);
}

TEST_CASE("max_pool2d gradients: non-square, stride 1, kernel as large as the input",
          "[op][max_pool2d][gradcheck]") {
  check_pool({2, 2, 5, 6}, pool_attrs({2, 3}, {1, 2}, {1, 1}), 30);
  check_pool({2, 2, 4, 4}, pool_attrs({2, 2}, {1, 1}), 31);
  check_pool({2, 3, 3, 4}, pool_attrs({3, 4}), 32);
}

TEST_CASE("max_pool2d shape rule", "[op][max_pool2d][shape]") {
  const OpDef& def = find_op("max_pool2d");
  CHECK(def.shape({{2, 3, 6, 6}}, pool_attrs({3, 3})) == std::vector<Shape>{{2, 3, 2, 2}});  // stride = kernel
  CHECK(def.shape({{2, 3, 6, 6}}, pool_attrs({2, 3})) == std::vector<Shape>{{2, 3, 3, 2}});
  CHECK(def.shape({{2, 3, 5, 5}}, pool_attrs({3, 3}, {2, 2}, {1, 1})) == std::vector<Shape>{{2, 3, 3, 3}});
  CHECK(def.shape({{kBatchDim, 3, 8, 8}}, pool_attrs({2, 2})) == std::vector<Shape>{{kBatchDim, 3, 4, 4}});
  CHECK(def.workspace == nullptr);
  CHECK(def.saved == nullptr);
  CHECK(def.backward_reads_in == std::vector<bool>{true});
}

TEST_CASE("max_pool2d shape errors name the shapes", "[op][max_pool2d][shape]") {
  const OpDef& def = find_op("max_pool2d");
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{1, 2, 3, 3}}, pool_attrs({4, 2})); }),
             Contains("kernel 4x2 is larger than the padded input 3x3 (x [1, 2, 3, 3], padding [0, 0])"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{1, 2, 3, 3}}, pool_attrs({2, 2}, {1, 1}, {2, 0})); }),
             Contains("padding [2, 0] must be smaller than the kernel [2, 2]"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{1, 2, 4, 4}}, pool_attrs({2, 2}, {0, 2})); }),
             Contains("stride [0, 2] must be positive"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{1, 2, 4, 4}}, pool_attrs({2, 2, 2})); }),
             Contains("attribute 'kernel' must have two entries, got [2, 2, 2]"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{1, 2, 4, 4}}, pool_attrs({0, 2})); }),
             Contains("kernel [0, 2] must be positive"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{2, 4, 4}}, pool_attrs({2, 2})); }),
             Contains("x must have rank 4, got [2, 4, 4]"));
}

namespace {

// The 2x2 stride 2 forward and backward on x of `shape` with many ties (values from
// {0, 1, 2}), signed zeros and NaNs, against the first-max rule: the first cell, in window
// order, that is strictly greater than every cell before it wins: it is the output, and it
// gets 0 + dy; every other cell +0.
// In double (run_op_backward) and in float (the kernel directly): each has its own
// vectorized code.
void check_2x2_routing(const Shape& shape, std::uint64_t seed) {
  const std::size_t P = static_cast<std::size_t>(shape[0] * shape[1]);
  const std::size_t H = static_cast<std::size_t>(shape[2]), W = static_cast<std::size_t>(shape[3]);
  const std::size_t OH = H / 2, OW = W / 2;
  std::mt19937_64 rng(seed);
  std::vector<double> xv(numel(shape));
  for (double& v : xv) v = static_cast<double>(rng() % 3);
  for (std::size_t k = 0; k < 4; ++k) xv[rng() % xv.size()] = -0.0;
  for (std::size_t k = 0; k < 3; ++k) xv[rng() % xv.size()] = std::nan("");
  const Shape out{shape[0], shape[1], static_cast<Dim>(OH), static_cast<Dim>(OW)};
  std::vector<double> dyv(numel(out));
  for (std::size_t i = 0; i < dyv.size(); ++i) dyv[i] = 1.0 + static_cast<double>(i);
  dyv[3] = -0.0;

  std::vector<double> expected(xv.size(), 0.0), expected_y(dyv.size());
  for (std::size_t p = 0; p < P; ++p)
    for (std::size_t oh = 0; oh < OH; ++oh)
      for (std::size_t ow = 0; ow < OW; ++ow) {
        std::size_t best = p * H * W + 2 * oh * W + 2 * ow;
        for (std::size_t cell : {best + 1, best + W, best + W + 1})
          if (xv[cell] > xv[best]) best = cell;
        expected[best] = 0.0 + dyv[(p * OH + oh) * OW + ow];
        expected_y[(p * OH + oh) * OW + ow] = xv[best];
      }
  const Array y = pool(shaped(shape, xv), pool_attrs({2, 2}));
  for (std::size_t i = 0; i < expected_y.size(); ++i) {
    INFO("double, output " << i);
    CHECK(same_bits(y.data()[i], expected_y[i]));
  }
  const Array dx = pool_grad(shaped(shape, xv), shaped(out, dyv), pool_attrs({2, 2}));
  REQUIRE(dx.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("double, cell " << i);
    CHECK(same_bits(dx.data()[i], expected[i]));
  }

  KernelCall<float> call("max_pool2d", {shape}, pool_attrs({2, 2}));
  std::vector<float> xf(xv.begin(), xv.end()), dyf(dyv.begin(), dyv.end()), yf(dyv.size());
  std::vector<float> dxf(xv.size(), 123.0f);  // garbage: every cell must be written
  call.forward({xf.data()}, {yf.data()});
  for (std::size_t i = 0; i < expected_y.size(); ++i) {
    INFO("float, output " << i);
    CHECK(same_bits(yf[i], static_cast<float>(expected_y[i])));
  }
  call.backward({xf.data()}, {yf.data()}, {dyf.data()}, {dxf.data()}, {0});
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("float, cell " << i);
    CHECK(same_bits(dxf[i], static_cast<float>(expected[i])));
  }
}

}  // namespace

TEST_CASE("max_pool2d 2x2 stride 2: the block forward and backward follow the first-max rule",
          "[op][max_pool2d]") {
  // Rows of fewer than 8 windows: as one block that spills into the next pair of rows,
  // the last pair masked (backward) or one window at a time (forward); rows narrower than 8
  // cells one window at a time. An odd width and height leave a column and a row outside
  // every window.
  check_2x2_routing({2, 3, 7, 9}, 11);
  check_2x2_routing({2, 3, 8, 14}, 16);
  check_2x2_routing({3, 2, 5, 6}, 17);
  // Rows of 8 windows and more, in blocks: exactly one block, 11 and 17 windows (the last
  // block overlaps the one before), 16 (two blocks), odd sizes.
  check_2x2_routing({2, 2, 4, 16}, 12);
  check_2x2_routing({1, 3, 5, 23}, 13);
  check_2x2_routing({2, 1, 6, 35}, 14);
  check_2x2_routing({1, 2, 9, 32}, 15);
  // A plane's last pair of rows of fewer than 8 windows spills into the next plane when
  // the same call routes it next (an even height); the last plane, and a plane whose odd
  // height leaves a row outside every window, masked. Planes of one pair of rows (each
  // spilling into the next), of the fewest windows a spill allows (4: 8 or 9 columns),
  // 7 windows with a column left out, a single plane; planes of 1 to 3 windows, one window
  // at a time.
  check_2x2_routing({3, 2, 2, 14}, 18);
  check_2x2_routing({2, 3, 4, 8}, 19);
  check_2x2_routing({2, 2, 2, 9}, 20);
  check_2x2_routing({1, 5, 6, 15}, 21);
  check_2x2_routing({2, 3, 3, 10}, 22);
  check_2x2_routing({1, 1, 2, 14}, 23);
  check_2x2_routing({3, 2, 2, 2}, 24);
  check_2x2_routing({2, 2, 3, 5}, 25);
  check_2x2_routing({2, 2, 2, 6}, 26);
}
