// The ops of the small-network toolbox (leaky_relu, gelu, log_softmax, avg_pool2d,
// global_avg_pool2d, layer_norm) in one network declared with their GraphBuilder methods:
// planned, run by the executor, its whole-graph gradient checked in double against central
// differences, planned against naive memory bit for bit in float, and through the JSON
// model format and back.
#include <cmath>
#include <cstring>
#include <map>

#include <catch2/catch.hpp>

#include "engine/builder.hpp"
#include "engine/executor.hpp"
#include "planner/plan.hpp"
#include "serialization/model_json.hpp"
#include "tests/example_graphs.hpp"
#include "tests/same_bits.hpp"
#include "tests/executor_helpers.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

// x [N, 2, 6, 6] -> avg_pool2d 3x3 stride 1 pad 1 "pool" -> leaky_relu 0.1 "lrelu"
//   -> global_avg_pool2d "gap" [N, 2] -> dense 6 "fc1" -> layer_norm "ln" -> gelu "act"
//   -> dense 3 "head" -> log_softmax "logp" -> softmax_cross_entropy(labels) "loss"
// (cross-entropy of log probabilities is that of the logits: log_softmax's gradient is
// what reaches "head").
Model toolbox_net(std::uint64_t seed) {
  GraphBuilder b;
  const Value x = b.input("x", {kBatchDim, 2, 6, 6});
  const Value labels = b.input("labels", {kBatchDim});
  const Value pooled = b.avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, true, "pool");
  const Value h = b.global_avg_pool2d(b.leaky_relu(pooled, 0.1, "lrelu"), "gap");
  const Value a = b.gelu(b.layer_norm(b.dense(h, 6, "fc1"), 1e-5, "ln"), "act");
  const Value logp = b.log_softmax(b.dense(a, 3, "head"), "logp");
  b.output(b.softmax_cross_entropy(logp, labels, "loss"));
  b.output(logp);
  return b.build(seed);
}

}  // namespace

TEST_CASE("the toolbox ops in one network: whole-graph gradient check in double", "[executor][gradcheck][toolbox]") {
  const std::int64_t N = 4;
  BasicModel<double> model = toolbox_net(3).cast<double>();
  // The layer norm's gain and bias start at 1 and 0; move them so that their gradients
  // are checked away from PyTorch's initial values.
  for (const char* p : {"ln.weight", "ln.bias"}) {
    double* w = model.parameter(p).data();
    for (std::size_t i = 0; i < 6; ++i) w[i] += 0.1 * static_cast<double>(i) - 0.2;
  }
  Executor<double> ex(model, plan_for<double>(model.graph, PlanKind::Gradients, N, true, {"pool"}, {"x"}));
  const Batch<double> data = random_batch<double>(static_cast<std::size_t>(N), 72, 3, 5);
  ex.set_input("x", data.x.data(), data.x.size());
  ex.set_input("labels", data.labels.data(), data.labels.size());
  ex.run();
  // leaky_relu's kink: every input to it stays well away from 0 for the differences.
  double nearest = 1e9;
  for (double z : copy_of(ex.value("pool"))) nearest = std::min(nearest, std::abs(z));
  INFO("smallest |pool| " << nearest);
  REQUIRE(nearest > 1e-4);

  std::map<std::string, std::vector<double>> analytic;
  for (const auto& [name, p] : model.parameters) analytic[name] = copy_of(ex.grad(name));
  analytic["x"] = copy_of(ex.grad("x"));
  REQUIRE(analytic.size() == 7);  // fc1, ln, head (weight and bias each) and x
  const double eps = 1e-6;
  for (auto& [name, grad] : analytic) {
    INFO("gradient of " << name);
    double* p = name == "x" ? ex.input("x").data : model.parameter(name).data();
    std::vector<double> diff(grad.size()), numeric(grad.size());
    for (std::size_t i = 0; i < grad.size(); ++i) {
      const double orig = p[i];
      p[i] = orig + eps;
      ex.run();
      const double up = ex.loss();
      p[i] = orig - eps;
      ex.run();
      const double down = ex.loss();
      p[i] = orig;
      numeric[i] = (up - down) / (2 * eps);
      diff[i] = grad[i] - numeric[i];
    }
    REQUIRE(norm(grad) > 1e-6);
    const double err = norm(diff) / std::max(norm(grad), norm(numeric));
    INFO("||a|| = " << norm(grad) << ", relative error " << err);
    CHECK(err < 1e-6);
  }
}

TEST_CASE("the toolbox ops in one network: planned and naive memory give the same bits", "[executor][reuse][toolbox]") {
  const std::int64_t N = 16;
  Model model = toolbox_net(9);
  const Batch<float> data = random_batch<float>(static_cast<std::size_t>(N), 72, 3, 6);
  const Plan planned = plan_for<float>(model.graph, PlanKind::Gradients, N, true, {"logp"}, {"x"});
  const Plan naive = plan_for<float>(model.graph, PlanKind::Gradients, N, false, {"logp"}, {"x"});
  CHECK(planned.arena_bytes < naive.arena_bytes);
  Executor<float> a(model, planned), b(model, naive);
  for (Executor<float>* e : {&a, &b}) {
    e->set_input("x", data.x.data(), data.x.size());
    e->set_input("labels", data.labels.data(), data.labels.size());
    e->run();
  }
  const float la = a.loss(), lb = b.loss();
  REQUIRE(std::isfinite(la));
  CHECK(std::memcmp(&la, &lb, sizeof la) == 0);
  CHECK(same_bits(copy_of(a.value("logp")), copy_of(b.value("logp"))));
  for (const auto& [name, p] : model.parameters) {
    INFO(name);
    CHECK(same_bits(copy_of(a.grad(name)), copy_of(b.grad(name))));
  }
  CHECK(same_bits(copy_of(a.grad("x")), copy_of(b.grad("x"))));
}

TEST_CASE("the toolbox ops in one network: the JSON model format keeps their attributes", "[serialization][toolbox]") {
  const Model model = toolbox_net(4);
  const std::string text = model_to_json(model);
  const Model back = model_from_json(text, "toolbox.json");
  CHECK(back.graph.nodes.size() == model.graph.nodes.size());
  for (std::size_t i = 0; i < model.graph.nodes.size(); ++i) {
    INFO(model.graph.nodes[i].name);
    CHECK(back.graph.nodes[i].op == model.graph.nodes[i].op);
    CHECK(back.graph.nodes[i].attrs == model.graph.nodes[i].attrs);
  }
  CHECK(model_to_json(back) == text);
}
