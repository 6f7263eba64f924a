// Ops against values computed by hand or recorded from PyTorch, on shapes chosen so that a
// plausible bug (a transposed window, a default stride taken from the wrong dimension, a
// wrong running-statistics convention) changes the answer. The gradient checks cannot see
// these: a consistent forward/backward pair that computes the wrong function passes them.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/builder.hpp"
#include "engine/executor.hpp"
#include "planner/plan.hpp"

using namespace plangrad;

namespace {

using Ints = std::vector<std::int64_t>;

std::vector<float> run_inference(Model& model, const std::string& input, const std::vector<float>& x,
                                 const std::string& output, Shape* shape = nullptr) {
  PlanRequest r;
  r.kind = PlanKind::Inference;
  r.outputs = {output};
  Executor<float> ex(model, make_plan(model.graph, r));
  ex.set_input(input, x.data(), x.size());
  ex.run();
  const TensorRef<const float> y = ex.value(output);
  if (shape) *shape = y.shape;
  return std::vector<float>(y.begin(), y.end());
}

std::vector<float> iota(std::size_t n, float first) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = first + static_cast<float>(i);
  return v;
}

}  // namespace

TEST_CASE("a stride-1 padded convolution computes PyTorch's cross-correlation, by hand", "[reference][conv2d]") {
  // x [1,1,3,4] = 1..12; w [1,1,3,3] is zero but for w[1][1] = 1 (the centre), w[0][1] = 10
  // (the row above) and w[2][2] = 100 (below right); padding 1, bias 0.5. So
  // y[i][j] = x[i][j] + 10 x[i-1][j] + 100 x[i+1][j+1] + 0.5, with x = 0 outside.
  GraphBuilder b;
  const Value x = b.input("x", {1, 1, 3, 4});
  const Value w = b.parameter("w", {1, 1, 3, 3}, init::zeros());
  const Value bias = b.parameter("b", {1}, init::zeros());
  b.op("conv2d", {x, w, bias}, {{"padding", Ints{1, 1}}}, "y");
  Model model = b.build(1);
  model.parameter("w")(0, 0, 1, 1) = 1.0f;
  model.parameter("w")(0, 0, 0, 1) = 10.0f;
  model.parameter("w")(0, 0, 2, 2) = 100.0f;
  model.parameter("b")(0) = 0.5f;
  Shape shape;
  const std::vector<float> y = run_inference(model, "x", iota(12, 1.0f), "y", &shape);
  CHECK(shape == Shape{1, 1, 3, 4});
  const std::vector<float> expected = {601.5f,  702.5f,  803.5f,  4.5f,   //
                                       1015.5f, 1126.5f, 1237.5f, 48.5f,  //
                                       59.5f,   70.5f,   81.5f,   92.5f};
  CHECK(y == expected);
}

TEST_CASE("max_pool2d with a non-square kernel and no stride strides by the kernel", "[reference][pool]") {
  // x [1,1,6,7] = 0..41 row-major, kernel [2,3]: stride [2,3], output [3,2]; each window's
  // maximum is its bottom-right cell x[2i+1][3j+2] = (2i+1)*7 + 3j + 2. A stride of [2,2]
  // or [3,3] would give [3,3] or [2,2] windows.
  GraphBuilder b;
  const Value x = b.input("x", {1, 1, 6, 7});
  b.op("max_pool2d", {x}, {{"kernel", Ints{2, 3}}}, "y");
  Model model = b.build(1);
  Shape shape;
  const std::vector<float> y = run_inference(model, "x", iota(42, 0.0f), "y", &shape);
  CHECK(shape == Shape{1, 1, 3, 2});
  CHECK(y == std::vector<float>{9, 12, 23, 26, 37, 40});
}

namespace {

// Running statistics after one Train-mode step from running mean {0.5, -1, 2} and variance
// {1, 2, 0.5}, with x[i] = ((37 i) mod 23) / 4 - 2.5 (exact in float).
void check_running_stats(const Shape& x_shape, const std::vector<double>& mean, const std::vector<double>& var) {
  GraphBuilder b;
  const Value x = b.input("x", x_shape);
  const Value gamma = b.parameter("gamma", {3}, init::constant(1));
  const Value beta = b.parameter("beta", {3}, init::zeros());
  const Value rm = b.state("running_mean", {3}, init::zeros());
  const Value rv = b.state("running_var", {3}, init::constant(1));
  b.op("batchnorm", {x, gamma, beta, rm, rv}, {}, "y");
  Model model = b.build(1);
  model.state_tensor("running_mean") = Tensor<float>({3}, {0.5f, -1.0f, 2.0f});
  model.state_tensor("running_var") = Tensor<float>({3}, {1.0f, 2.0f, 0.5f});
  PlanRequest r;
  r.kind = PlanKind::Inference;
  r.mode = static_cast<int>(Mode::Train);
  r.outputs = {"y"};
  Executor<float> ex(model, make_plan(model.graph, r));
  std::vector<float> xs(numel(x_shape));
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>((i * 37) % 23) * 0.25f - 2.5f;
  ex.set_input("x", xs.data(), xs.size());
  ex.run();
  for (std::size_t c = 0; c < 3; ++c) {
    INFO("channel " << c);
    CHECK(model.state_tensor("running_mean")(c) == Approx(mean[c]).epsilon(1e-6));
    CHECK(model.state_tensor("running_var")(c) == Approx(var[c]).epsilon(1e-6));
  }
}

}  // namespace

// Recorded with PyTorch 1.13 (scripts/record_torch_batchnorm.py): momentum 0.1 weighs the
// new batch statistics, and the running variance takes the unbiased batch variance
// (times M / (M - 1), M the values per channel).
TEST_CASE("batchnorm over images updates its running statistics as PyTorch does", "[reference][batchnorm]") {
  check_running_stats({4, 3, 2, 3}, {0.486458333, -0.871875, 1.79583333}, {1.25542346, 2.05125679, 0.70307971});
}

TEST_CASE("batchnorm over features updates its running statistics as PyTorch does", "[reference][batchnorm]") {
  check_running_stats({5, 3}, {0.46, -0.885, 1.82}, {1.23625, 2.13625, 0.829375});
}
