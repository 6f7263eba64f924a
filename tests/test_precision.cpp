// Long reductions are as accurate as PyTorch's: float gradients at batch 128, where each
// batchnorm channel sums 128*28*28 = 100,352 values, against the same graph run in double.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/builder.hpp"
#include "engine/executor.hpp"
#include "networks/models.hpp"
#include "planner/plan.hpp"

using namespace plangrad;

namespace {

// The largest |float - double| of a tensor, and the largest |double| to judge it by.
std::pair<double, double> deviation(const std::vector<double>& g32, const std::vector<double>& g64) {
  double worst = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < g64.size(); ++i) {
    worst = std::max(worst, std::abs(g32[i] - g64[i]));
    scale = std::max(scale, std::abs(g64[i]));
  }
  return {worst, scale};
}

constexpr std::int64_t kBatch = 128;

template <class T>
std::map<std::string, std::vector<double>> cnn_gradients(BasicModel<T>& model) {
  PlanRequest r;
  r.kind = PlanKind::Gradients;
  r.batch = kBatch;
  r.elem_bytes = sizeof(T);
  Executor<T> ex(model, make_plan(model.graph, r));
  // The same inputs for both precisions: float pixels (exact in double) and labels.
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  std::vector<T> x(static_cast<std::size_t>(kBatch) * 784), y(static_cast<std::size_t>(kBatch));
  for (T& v : x) v = static_cast<T>(pixel(rng));
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<T>((i * 7) % 10);
  ex.set_input("x", x.data(), x.size());
  ex.set_input("labels", y.data(), y.size());
  ex.run();
  std::map<std::string, std::vector<double>> grads;
  for (const auto& [name, p] : model.parameters) {
    const TensorRef<const T> g = ex.grad(name);
    grads[name].assign(g.begin(), g.end());
  }
  return grads;
}

}  // namespace

// The bar, met in every build (optimized, sanitized, each kernel path): the CNN's
// float gradients against the same graph in double, norm-wise per parameter.
TEST_CASE("the CNN's float gradients at batch 128 match a float64 run to 1e-4", "[precision]") {
  Model model = models::mnist_cnn().build(7);
  BasicModel<double> reference = model.cast<double>();
  const auto f32 = cnn_gradients(model);
  const auto f64 = cnn_gradients(reference);
  double global = 0.0;  // the largest gradient element of the model
  for (const auto& [name, g64] : f64)
    for (double g : g64) global = std::max(global, std::abs(g));
  REQUIRE(global > 0.0);
  for (const auto& [name, g64] : f64) {
    const auto [worst, scale] = deviation(f32.at(name), g64);
    INFO(name << ": max |float - double| " << worst << ", max |double| " << scale);
    // A convolution's bias right before a batchnorm has a gradient of exactly zero (the
    // batchnorm subtracts the channel mean): there the float result is rounding noise,
    // measured against the model's gradient scale instead.
    const double reference_scale = scale > 1e-6 * global ? scale : global;
    CHECK(worst <= 1e-4 * reference_scale);
  }
}

namespace {

// A batchnorm over [128, 4, 28, 28] (100,352 values per channel) of inputs far from zero
// (100 + U(-1, 1)): a float sum of the channel drifts by far more than the spread of the
// values around their mean, so every statistic and gradient built on it is visibly off.
template <class T>
std::map<std::string, std::vector<double>> batchnorm_gradients() {
  GraphBuilder b;
  const Value x = b.input("x", {kBatch, 4, 28, 28});
  const Value t = b.input("t", {kBatch, 4, 28, 28});
  const Value g = b.parameter("gamma", {4}, init::constant(1.5));
  const Value beta = b.parameter("beta", {4}, init::constant(0.25));
  const Value rm = b.state("rm", {4}, init::zeros());
  const Value rv = b.state("rv", {4}, init::constant(1));
  b.output(b.mse_loss(b.op("batchnorm", {x, g, beta, rm, rv}, {}, "bn"), t, "loss"));
  BasicModel<T> model = b.build(1).template cast<T>();
  PlanRequest r;
  r.kind = PlanKind::Gradients;
  r.elem_bytes = sizeof(T);
  r.input_gradients = {"x"};
  Executor<T> ex(model, make_plan(model.graph, r));
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> noise(-1.0f, 1.0f);
  std::vector<T> xs(static_cast<std::size_t>(kBatch) * 4 * 784), ts(xs.size());
  for (T& v : xs) v = static_cast<T>(100.0f + noise(rng));
  for (T& v : ts) v = static_cast<T>(noise(rng));
  ex.set_input("x", xs.data(), xs.size());
  ex.set_input("t", ts.data(), ts.size());
  ex.run();
  std::map<std::string, std::vector<double>> grads;
  for (const char* name : {"gamma", "beta", "x"}) {
    const TensorRef<const T> gr = ex.grad(name);
    grads[name].assign(gr.begin(), gr.end());
  }
  // The running statistics the step updated: the channel mean and variance themselves.
  for (const char* name : {"rm", "rv"}) {
    const Tensor<T>& st = model.state.at(name);
    grads[name].assign(st.begin(), st.end());
  }
  return grads;
}

}  // namespace

TEST_CASE("batchnorm's channel sums over 100k values far from zero stay accurate in float", "[precision]") {
  const auto f32 = batchnorm_gradients<float>();
  const auto f64 = batchnorm_gradients<double>();
  for (const auto& [name, g64] : f64) {
    const auto [worst, scale] = deviation(f32.at(name), g64);
    INFO(name << ": max |float - double| " << worst << ", max |double| " << scale);
    REQUIRE(scale > 0.0);
    // The statistics to a few of float's ulps; the gradients, which float's rounding of
    // each dy and y already moves by up to 4e-5 here, to 1e-4. Channel sums accumulated
    // in float move the running mean by 6e-7 and the gradients of beta and x by 2-6e-4.
    CHECK(worst <= (name[0] == 'r' ? 3e-7 : 1e-4) * scale);
  }
}
