// conv2d and conv2d_nobias: values by hand, gradients against central differences over
// the geometry's edge cases, the float kernels against the double ones, shape errors.
#include <catch2/catch.hpp>
#include <xtensor/xbuilder.hpp>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"
#include "tests/kernel_harness.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

using Ints = std::vector<std::int64_t>;

Attrs conv_attrs(Ints stride = {1, 1}, Ints padding = {0, 0}) {
  return Attrs{{"stride", stride}, {"padding", padding}};
}

// Gradient check of conv2d (x, w, b) and of conv2d_nobias (x, w) at one geometry.
void check_conv(const Shape& x, const Shape& w, Ints stride, Ints padding, std::uint64_t seed) {
  GradCheckOptions options;
  options.attrs = conv_attrs(stride, padding);
  const Array xa = random_array(x, seed), wa = random_array(w, seed + 1),
              ba = random_array({w[0]}, seed + 2);
  {
    INFO("conv2d");
    const GradCheckResult r = check_op_gradients("conv2d", {xa, wa, ba}, options);
    REQUIRE(r.relative_error.size() == 3);
  }
  {
    INFO("conv2d_nobias");
    const GradCheckResult r = check_op_gradients("conv2d_nobias", {xa, wa}, options);
    REQUIRE(r.relative_error.size() == 2);
  }
}

}  // namespace

TEST_CASE("conv2d forward and backward by hand: 1x1x3x3 input, 2x2 kernel", "[op][conv2d]") {
  const Array x = {{{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}, {7.0, 8.0, 9.0}}}};
  const Array w = {{{{1.0, 2.0}, {3.0, 4.0}}}};
  const Array b = {0.5};
  // y[i,j] = sum_{p,q} w[p,q] x[i+p, j+q] + b
  const Array y = {{{{1 * 1 + 2 * 2 + 3 * 4 + 4 * 5 + 0.5, 1 * 2 + 2 * 3 + 3 * 5 + 4 * 6 + 0.5},
                     {1 * 4 + 2 * 5 + 3 * 7 + 4 * 8 + 0.5, 1 * 5 + 2 * 6 + 3 * 8 + 4 * 9 + 0.5}}}};
  {
    std::vector<Array> in{x, w, b};
    require_close(run_op_forward("conv2d", in)[0], y, 0, 0);
    std::vector<Array> in_nobias{x, w};
    require_close(run_op_forward("conv2d_nobias", in_nobias)[0], y - 0.5, 0, 0);
  }
  // dy = 1 everywhere: dw[p,q] sums the x cells kernel entry (p,q) touches; dx[i,j] sums
  // the kernel entries that touch cell (i,j); db counts the outputs.
  const Array dy = xt::ones<double>({1, 1, 2, 2});
  const std::vector<Array> g = run_op_backward("conv2d", {x, w, b}, {dy});
  require_close(g[0], Array{{{{1.0, 1.0 + 2.0, 2.0},
                              {1.0 + 3.0, 1.0 + 2.0 + 3.0 + 4.0, 2.0 + 4.0},
                              {3.0, 3.0 + 4.0, 4.0}}}},
                0, 0);
  require_close(g[1], Array{{{{1.0 + 2 + 4 + 5, 2.0 + 3 + 5 + 6}, {4.0 + 5 + 7 + 8, 5.0 + 6 + 8 + 9}}}},
                0, 0);
  require_close(g[2], Array{4.0}, 0, 0);
}

TEST_CASE("conv2d forward by hand: stride 2, padding 1", "[op][conv2d]") {
  const Array x = {{{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}, {7.0, 8.0, 9.0}}}};
  const Array w = {{{{1.0, 2.0}, {3.0, 4.0}}}};
  // Padded to 5x5, windows start at rows/columns -1 and 1: OH = OW = (3 + 2 - 2) / 2 + 1 = 2.
  const Array y = {{{{4 * 1.0, 3 * 2.0 + 4 * 3.0},  //
                     {2 * 4.0 + 4 * 7.0, 1 * 5.0 + 2 * 6.0 + 3 * 8.0 + 4 * 9.0}}}};
  std::vector<Array> in{x, w};
  require_close(run_op_forward("conv2d_nobias", in, conv_attrs({2, 2}, {1, 1}))[0], y, 0, 0);
}

TEST_CASE("conv2d forward: channels and filters sum as a dot product", "[op][conv2d]") {
  // x[1,2,1,1], w[3,2,1,1]: y[f] = sum_c w[f,c] x[c] + b[f]
  const Array x = shaped({1, 2, 1, 1}, {2.0, -3.0});
  const Array w = shaped({3, 2, 1, 1}, {1.0, 1.0, 0.5, -1.0, 0.0, 2.0});
  const Array b = {10.0, 20.0, 30.0};
  std::vector<Array> in{x, w, b};
  require_close(run_op_forward("conv2d", in)[0],
                shaped({1, 3, 1, 1}, {2.0 - 3.0 + 10.0, 1.0 + 3.0 + 20.0, -6.0 + 30.0}), 0, 0);
}

TEST_CASE("conv2d gradients: 3x3 kernel, stride 1, no padding", "[op][conv2d][gradcheck]") {
  check_conv({2, 3, 5, 5}, {4, 3, 3, 3}, {1, 1}, {0, 0}, 10);
}

TEST_CASE("conv2d gradients: stride 2 with padding", "[op][conv2d][gradcheck]") {
  check_conv({2, 2, 5, 6}, {3, 2, 3, 3}, {2, 2}, {1, 1}, 20);
  check_conv({2, 3, 6, 6}, {2, 3, 2, 2}, {2, 2}, {1, 1}, 25);  // stride divides evenly
}

TEST_CASE("conv2d gradients: 1x1 kernels", "[op][conv2d][gradcheck]") {
  check_conv({2, 3, 4, 4}, {5, 3, 1, 1}, {1, 1}, {0, 0}, 30);  // pointwise: no im2col
  check_conv({2, 3, 5, 4}, {2, 3, 1, 1}, {2, 2}, {0, 0}, 35);  // strided 1x1
  check_conv({2, 2, 3, 3}, {3, 2, 1, 1}, {1, 1}, {1, 0}, 37);  // padded 1x1
}

TEST_CASE("conv2d gradients: kernel as large as its input", "[op][conv2d][gradcheck]") {
  check_conv({2, 3, 4, 5}, {2, 3, 4, 5}, {1, 1}, {0, 0}, 40);
  check_conv({2, 2, 3, 3}, {3, 2, 5, 5}, {1, 1}, {1, 1}, 45);  // as large as the padded input
}

TEST_CASE("conv2d gradients: batch of 1", "[op][conv2d][gradcheck]") {
  check_conv({1, 2, 4, 4}, {3, 2, 2, 2}, {1, 1}, {0, 0}, 50);
}

TEST_CASE("conv2d gradients: non-square kernel, stride and padding", "[op][conv2d][gradcheck]") {
  check_conv({2, 2, 5, 7}, {3, 2, 2, 4}, {1, 2}, {1, 0}, 60);
  check_conv({3, 2, 6, 4}, {2, 2, 3, 1}, {2, 1}, {0, 1}, 65);
}

TEST_CASE("conv2d shape rule", "[op][conv2d][shape]") {
  const OpDef& def = find_op("conv2d");
  CHECK(def.shape({{2, 3, 5, 5}, {4, 3, 3, 3}, {4}}, conv_attrs()) == std::vector<Shape>{{2, 4, 3, 3}});
  CHECK(def.shape({{2, 3, 5, 6}, {4, 3, 3, 3}, {4}}, conv_attrs({2, 2}, {1, 1})) ==
        std::vector<Shape>{{2, 4, 3, 3}});
  CHECK(def.shape({{2, 1, 7, 5}, {1, 1, 3, 1}, {1}}, conv_attrs({2, 1}, {0, 1})) ==
        std::vector<Shape>{{2, 1, 3, 7}});
  // A symbolic batch passes through.
  CHECK(def.shape({{kBatchDim, 3, 5, 5}, {4, 3, 3, 3}, {4}}, conv_attrs()) ==
        std::vector<Shape>{{kBatchDim, 4, 3, 3}});
  // Workspace: one image's columns, C*KH*KW x OH*OW; none for a pointwise convolution.
  CHECK(def.workspace({{2, 3, 5, 5}, {4, 3, 3, 3}, {4}}, conv_attrs()) == 3 * 3 * 3 * 3 * 3);
  CHECK(def.workspace({{2, 3, 5, 5}, {4, 3, 1, 1}, {4}}, conv_attrs()) == 0);
  CHECK(def.workspace({{2, 3, 5, 5}, {4, 3, 1, 1}, {4}}, conv_attrs({2, 2})) == 3 * 3 * 3);
  CHECK(find_op("conv2d_nobias").shape({{2, 3, 5, 5}, {4, 3, 3, 3}}, conv_attrs()) ==
        std::vector<Shape>{{2, 4, 3, 3}});
}

TEST_CASE("conv2d shape errors name the shapes", "[op][conv2d][shape]") {
  const OpDef& def = find_op("conv2d");
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{2, 3, 5, 5}, {4, 4, 3, 3}, {4}}, conv_attrs()); }),
             Contains("x [2, 3, 5, 5] has 3 channels but w [4, 4, 3, 3] expects 4"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{1, 1, 3, 3}, {1, 1, 5, 5}, {1}}, conv_attrs()); }),
             Contains("kernel 5x5 is larger than the padded input 3x3 (x [1, 1, 3, 3], padding [0, 0])"));
  CHECK_THAT(error_message<ShapeError>(
                 [&] { def.shape({{1, 1, 3, 3}, {1, 1, 6, 2}, {1}}, conv_attrs({1, 1}, {1, 1})); }),
             Contains("kernel 6x2 is larger than the padded input 5x5"));
  CHECK_THAT(error_message<ShapeError>(
                 [&] { def.shape({{1, 1, 3, 3}, {1, 1, 2, 2}, {1}}, conv_attrs({0, 1})); }),
             Contains("stride [0, 1] must be positive"));
  CHECK_THAT(error_message<ShapeError>(
                 [&] { def.shape({{1, 1, 3, 3}, {1, 1, 2, 2}, {1}}, conv_attrs({1, -2})); }),
             Contains("stride [1, -2] must be positive"));
  CHECK_THAT(error_message<ShapeError>(
                 [&] { def.shape({{1, 1, 3, 3}, {1, 1, 2, 2}, {1}}, conv_attrs({1, 1}, {-1, 0})); }),
             Contains("padding [-1, 0] must not be negative"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{1, 1, 3, 3}, {1, 1, 2, 2}, {1}}, conv_attrs({2})); }),
             Contains("attribute 'stride' must have two entries, got [2]"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{2, 3, 5, 5}, {4, 3, 3, 3}, {5}}, conv_attrs()); }),
             Contains("b [5] does not match the 4 filters of w [4, 3, 3, 3]"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{2, 3, 5}, {4, 3, 3, 3}, {4}}, conv_attrs()); }),
             Contains("x must have rank 4, got [2, 3, 5]"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{2, 3, 5, 5}, {4, 3, 3}, {4}}, conv_attrs()); }),
             Contains("w must have rank 4, got [4, 3, 3]"));
}

namespace {

std::vector<float> to_floats(const Array& a) { return std::vector<float>(a.begin(), a.end()); }

}  // namespace

// The gradient checks run in double; this runs the float kernels (sgemm, float im2col)
// on the same data and compares.
TEST_CASE("conv2d float kernels agree with the double ones", "[op][conv2d][float]") {
  const Attrs attrs = conv_attrs({2, 1}, {1, 1});
  const std::vector<Array> in64 = {random_array({2, 3, 5, 4}, 70), random_array({4, 3, 3, 2}, 71),
                                   random_array({4}, 72)};
  KernelCall<float> call("conv2d", {{2, 3, 5, 4}, {4, 3, 3, 2}, {4}}, attrs);
  const Array dy64 = random_array(call.out_shapes[0], 73);

  std::vector<Array> in_copy = in64;
  const Array y64 = run_op_forward("conv2d", in_copy, attrs)[0];
  const std::vector<Array> g64 = run_op_backward("conv2d", in64, {dy64}, attrs);

  std::vector<std::vector<float>> in, out = call.fresh_outputs(), d_out{to_floats(dy64)}, d_in;
  for (const Array& a : in64) {
    in.push_back(to_floats(a));
    d_in.emplace_back(a.size());
  }
  call.forward(pointers(in), pointers(out));
  call.backward(pointers(in), pointers(out), pointers(d_out), pointers(d_in), std::vector<char>(3, 0));

  auto as_array = [](const std::vector<float>& v, const Shape& s) {
    return shaped(s, std::vector<double>(v.begin(), v.end()));
  };
  require_close(as_array(out[0], call.out_shapes[0]), y64, 1e-4, 1e-5);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("gradient of input " << i);
    require_close(as_array(d_in[i], call.in_shapes[i]), g64[i], 1e-4, 1e-5);
  }
}

TEST_CASE("conv2d backward skips inputs that need no gradient", "[op][conv2d]") {
  // Each input checked alone: the other two get d_in == nullptr and must be skipped.
  GradCheckOptions options;
  options.attrs = conv_attrs({2, 2}, {1, 1});
  check_each_input_alone(
      "conv2d", {random_array({2, 2, 5, 5}, 80), random_array({3, 2, 3, 3}, 81), random_array({3}, 82)},
      options);
}
