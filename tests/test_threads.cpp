// Training with the kernels split between threads (kernels/parallel.hpp): the same seed gives
// the same bits at a given thread count, and inference, which has no cross-image sums,
// gives the 1-thread bits.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <string>
#include <random>
#include <vector>

#include "engine/executor.hpp"
#include "networks/models.hpp"
#include "engine/optimizer.hpp"
#include "kernels/parallel.hpp"
#include "planner/plan.hpp"
#include "tests/op_threads.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

Plan cnn_plan(const Model& model, PlanKind kind, std::int64_t batch) {
  PlanRequest r;
  r.kind = kind;
  r.batch = batch;
  if (kind == PlanKind::Inference) r.outputs = {"logits"};
  return make_plan(model.graph, r);
}

void feed(Executor<float>& ex, std::int64_t batch, bool labels) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(batch) * 784), y(static_cast<std::size_t>(batch));
  for (float& v : x) v = pixel(rng);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(i % 10);
  ex.set_input("x", x.data(), x.size());
  if (labels) ex.set_input("labels", y.data(), y.size());
}

// The parameters after `steps` SGD steps at `threads` threads.
std::map<std::string, Tensor<float>> train(int threads, int steps, std::size_t* workspace = nullptr) {
  const OpThreads t(threads);
  Model model = models::mnist_cnn().build(5);
  // SGD: an update proportional to the gradient (Adam's would turn a rounding-level
  // difference in a near-zero gradient into a full step).
  SGD<float> sgd(model, {0.01, 0.9, 0.0});
  Executor<float> ex(model, cnn_plan(model, PlanKind::Training, 16), &sgd);
  if (workspace)  // the workspace elements the plan sized
    for (const TensorInfo& t : ex.plan().schedule.tensors)
      if (t.role == TensorRole::Workspace) *workspace += numel(t.shape);
  feed(ex, 16, true);
  for (int s = 0; s < steps; ++s) ex.run();
  return model.parameters;
}

}  // namespace

TEST_CASE("the MNIST CNN trains to the 1-thread bits at 2 threads", "[threads]") {
  std::size_t ws1 = 0, ws2 = 0;
  const auto one = train(1, 3, &ws1);
  const auto two = train(2, 3, &ws2);
  // At batch 16 the second convolution is split (7.2M multiply-adds), by Winograd in a
  // training plan (ops/conv2d_winograd.hpp): its forward and dx by images, a workspace part
  // per thread; its dw in a fixed number of chunks of the batch, added in chunk order at
  // any thread count. The first (1.8M) is not split, so its dw is summed alone on every path (by
  // conv_dw on AVX-512, by im2col + GEMM elsewhere).
  CHECK(ws2 > ws1);
  for (const auto& [name, w] : two) {
    INFO(name);
    CHECK(same_bits(w, one.at(name)));
  }
}

TEST_CASE("the MNIST CNN infers the 1-thread bits at 2 threads", "[threads]") {
  Model model = models::mnist_cnn().build(5);
  std::vector<float> logits[2];
  for (int threads : {1, 2}) {
    const OpThreads t(threads);
    Executor<float> ex(model, cnn_plan(model, PlanKind::Inference, 16));
    feed(ex, 16, false);
    ex.run();
    const TensorRef<const float> out = ex.value("logits");
    logits[threads - 1].assign(out.begin(), out.end());
  }
  REQUIRE(logits[0].size() == 160);
  CHECK(same_bits(logits[0], logits[1]));
}

TEST_CASE("the MNIST MLP trains to the 1-thread bits at 2 threads", "[threads]") {
  // Its split kernels are the wide GEMMs (by column blocks) and the SGD update of the
  // 784x256 weight (by elements): neither changes a bit.
  std::map<std::string, Tensor<float>> weights[2];
  bool split = false;
  for (int threads : {1, 2}) {
    const OpThreads t(threads);
    Model model = models::mnist_mlp().build(5);
    SGD<float> sgd(model, {0.01, 0.9, 1e-4});
    PlanRequest r;
    r.kind = PlanKind::Training;
    r.batch = 64;
    Executor<float> ex(model, make_plan(model.graph, r), &sgd);
    feed(ex, 64, true);
    for (int s = 0; s < 3; ++s) ex.run();
    weights[threads - 1] = model.parameters;
    split = split || op_threads() == 2;
  }
  REQUIRE(split);
  for (const auto& [name, w] : weights[0]) {
    INFO(name);
    CHECK(same_bits(w, weights[1].at(name)));
  }
}
