// winograd (planner/winograd.cpp): in float Eval-mode inference plans a 3x3 stride-1
// conv2d over 8 channels and 8 filters or more becomes winograd_filters (the filters'
// transform, from the live weights at every run) and conv2d_winograd. The rewrite must
// happen exactly there, and the plan must compute what the direct plan does to float
// rounding, fused or not (bit for bit between the two), at any thread count.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/executor.hpp"
#include "networks/models.hpp"
#include "networks/resnet.hpp"
#include "planner/plan.hpp"
#include "planner/winograd.hpp"
#include "tests/executor_helpers.hpp"
#include "tests/op_threads.hpp"
#include "tests/same_bits.hpp"
#include "tests/planner_by_hand.hpp"
#include "tests/random_values.hpp"

using namespace plangrad;
using plangrad::testing::HandGraph;
using plangrad::testing::logits_of;
using plangrad::testing::relative_gap;
using plangrad::testing::same_bits;
using plangrad::testing::OpThreads;
using plangrad::testing::random_values;

namespace {

// x [N, C, 6, 6] -> conv "conv" (op `conv_op`, w [F, C, kh, kh], stride, padding [1, 2]) -> y
// -> relu -> r.
struct Conv {
  HandGraph h;
  int x, w, b = -1, y, r, conv, relu;
  explicit Conv(Dim C = 8, Dim F = 8, Dim kh = 3, std::int64_t stride = 1, const std::string& conv_op = "conv2d",
                Dim N = 4) {
    x = h.value("x", ValueRole::Input, {N, C, 6, 6});
    w = h.value("w", ValueRole::Parameter, {F, C, kh, kh});
    if (conv_op == "conv2d") b = h.value("b", ValueRole::Parameter, {F});
    y = h.value("y");
    r = h.value("r");
    conv = h.node("conv", conv_op, b >= 0 ? std::vector<int>{x, w, b} : std::vector<int>{x, w}, {y},
                  {{"padding", std::vector<std::int64_t>{1, 2}}, {"stride", std::vector<std::int64_t>{stride, stride}}});
    relu = h.node("relu", "relu", {y}, {r});
  }
  WinogradGraph rewrite() const {
    const std::vector<int> order{conv, relu};
    return winograd(h.g, order, infer_shapes(h.g, order, 0));
  }
};

std::size_t steps_of(const Plan& p, const std::string& op) {
  return static_cast<std::size_t>(std::count_if(p.schedule.steps.begin(), p.schedule.steps.end(), [&](const Step& s) {
    return s.node >= 0 && p.graph.nodes[static_cast<std::size_t>(s.node)].op->name == op;
  }));
}

}  // namespace

TEST_CASE("winograd rewrites conv2d into winograd_filters and conv2d_winograd", "[winograd]") {
  const Conv c;
  const WinogradGraph r = c.rewrite();
  REQUIRE(r.rewritten == 1);
  const IndexedGraph& g = r.graph;
  REQUIRE(g.nodes.size() == 3);
  const int filters = 2;
  CHECK(r.order == std::vector<int>{filters, c.conv, c.relu});

  const NodeInfo& t = g.nodes[static_cast<std::size_t>(filters)];
  CHECK(t.op->name == "winograd_filters");
  CHECK(t.name == "conv/winograd");
  const int u = g.find_value("conv/u");
  REQUIRE(u >= 0);
  CHECK(t.inputs == std::vector<int>{c.w});
  CHECK(t.outputs == std::vector<int>{u});
  CHECK(g.values[static_cast<std::size_t>(u)].producer == filters);

  const NodeInfo& conv = g.nodes[static_cast<std::size_t>(c.conv)];
  CHECK(conv.op->name == "conv2d_winograd");
  CHECK(conv.name == "conv");
  CHECK(conv.inputs == std::vector<int>{c.x, u, c.b});
  CHECK(conv.outputs == std::vector<int>{c.y});
  CHECK(conv.attrs.get_ints("padding") == std::vector<std::int64_t>{1, 2});

  // y keeps its shape; u is [16, C, F].
  const std::vector<Shape> shapes = infer_shapes(g, r.order, 0);
  CHECK(shapes[static_cast<std::size_t>(c.y)] == Shape{4, 8, 6, 8});
  CHECK(shapes[static_cast<std::size_t>(u)] == Shape{16, 8, 8});
}

TEST_CASE("winograd leaves the convolutions it does not pay for", "[winograd]") {
  CHECK(Conv(7, 8).rewrite().rewritten == 0);     // too few channels
  CHECK(Conv(8, 7).rewrite().rewritten == 0);     // too few filters
  CHECK(Conv(8, 8, 5).rewrite().rewritten == 0);  // 5x5
  CHECK(Conv(8, 8, 3, 2).rewrite().rewritten == 0);
  CHECK(Conv(8, 8, 3, 1, "conv2d_nobias").rewrite().rewritten == 0);
  CHECK(Conv(8, 8, 3, 1, "conv2d", 2).rewrite().rewritten == 0);  // 96 outputs per filter
  CHECK(Conv(8, 8, 3, 1, "conv2d", 3).rewrite().rewritten == 1);  // 144
  const WinogradGraph kept = Conv(7, 8).rewrite();
  CHECK(kept.graph.nodes.size() == 2);
  CHECK(kept.graph.values.size() == Conv(7, 8).h.g.values.size());
}

TEST_CASE("winograd's new names never take an existing one", "[winograd]") {
  Conv c;
  c.h.value("conv/u", ValueRole::Parameter, {1});
  const int other = c.h.value("other");
  c.h.node("conv/winograd", "relu", {c.r}, {other});
  const WinogradGraph r = c.rewrite();
  REQUIRE(r.rewritten == 1);
  const NodeInfo& t = r.graph.nodes.back();
  CHECK(t.name == "conv/winograd#2");
  CHECK(r.graph.values[static_cast<std::size_t>(t.outputs[0])].name == "conv/u#2");
}

namespace {

Plan eval_plan(const Graph& g, std::int64_t batch, bool winograd, bool fuse = true,
               std::size_t elem = sizeof(float)) {
  PlanRequest r;
  r.kind = PlanKind::Inference;
  r.batch = batch;
  r.outputs = {"logits"};
  r.winograd = winograd;
  r.fuse = fuse;
  r.elem_bytes = elem;
  return make_plan(g, r);
}



}  // namespace

TEST_CASE("winograd runs in float Eval-mode inference plans only, and the switch turns it off", "[winograd]") {
  const Graph g = models::mnist_cnn().graph();
  // conv16 has one input channel: only conv32 is rewritten.
  const Plan p = eval_plan(g, 4, true);
  CHECK(steps_of(p, "winograd_filters") == 1);
  const int u = p.graph.find_value("conv32/u");
  REQUIRE(u >= 0);
  const int producer = p.graph.values[static_cast<std::size_t>(u)].producer;
  REQUIRE(producer >= 0);
  CHECK(p.graph.nodes[static_cast<std::size_t>(producer)].name == "conv32/winograd");
  CHECK_FALSE(eval_plan(g, 4, false).graph.find_value("conv32/u") >= 0);
  CHECK(steps_of(eval_plan(g, 4, true, true, sizeof(double)), "winograd_filters") == 0);
  for (PlanKind kind : {PlanKind::Training, PlanKind::Gradients}) {
    PlanRequest r;
    r.kind = kind;
    r.mode = static_cast<int>(Mode::Eval);
    r.batch = 4;
    r.loss = "loss";
    const Plan t = make_plan(g, r);
    CHECK(steps_of(t, "winograd_filters") == 0);
    CHECK(steps_of(t, "conv2d_winograd") == 0);
    // Plans with a backward keep the node and change its op (conv16: one channel, direct);
    // each has a forward and a backward step.
    CHECK(steps_of(t, "conv2d_by_winograd") == 2);
    CHECK(steps_of(t, "conv2d") == 2);
    r.winograd = false;
    CHECK(steps_of(make_plan(g, r), "conv2d_by_winograd") == 0);
    r.winograd = true;
    r.elem_bytes = sizeof(double);
    CHECK(steps_of(make_plan(g, r), "conv2d_by_winograd") == 0);
  }
  PlanRequest train_mode;
  train_mode.kind = PlanKind::Inference;
  train_mode.mode = static_cast<int>(Mode::Train);
  train_mode.batch = 4;
  train_mode.outputs = {"logits"};
  CHECK(steps_of(make_plan(g, train_mode), "winograd_filters") == 0);
  CHECK(steps_of(make_plan(g, train_mode), "conv2d_by_winograd") == 0);
}

TEST_CASE("Winograd plans compute the direct plans' logits to float rounding, fused or not", "[winograd]") {
  struct Case {
    const char* name;
    Model model;
  };
  const std::int64_t N = 5;
  Case cases[] = {{"mnist-cnn", models::mnist_cnn().build(3)}, {"fashion-resnet", models::fashion_resnet().build(4)}};
  for (Case& c : cases) {
    INFO(c.name);
    const Plan wino = eval_plan(c.model.graph, N, true), direct = eval_plan(c.model.graph, N, false);
    const Plan unfused = eval_plan(c.model.graph, N, true, false);
    CHECK(steps_of(wino, "winograd_filters") >= 1);
    CHECK(steps_of(direct, "winograd_filters") == 0);
    const std::vector<float> x = random_values<float>(static_cast<std::size_t>(N) * 28 * 28, 9, 0, 1);
    const std::vector<float> a = logits_of(c.model, wino, x), b = logits_of(c.model, direct, x);
    const double gap = relative_gap(a, b);
    INFO("max |winograd - direct| / max |direct| = " << gap);
    CHECK(gap < 1e-5);
    CHECK(gap > 0);  // a different computation: the plans really differ
    CHECK(same_bits(logits_of(c.model, unfused, x), a));
    {
      OpThreads two(2);
      const Plan wino2 = eval_plan(c.model.graph, N, true);
      CHECK(same_bits(logits_of(c.model, wino2, x), a));
    }

    // The transformed filters come from the live weights at every run.
    for (auto& [name, t] : c.model.parameters)
      for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] *= 1.5f;
    const std::vector<float> a2 = logits_of(c.model, wino, x), b2 = logits_of(c.model, direct, x);
    CHECK(relative_gap(a2, b2) < 1e-5);
    CHECK(relative_gap(a2, a) > 1e-3);
  }
}

namespace {

// The loss and every parameter's gradient of a float gradients plan.
struct Gradients {
  float loss;
  std::vector<std::vector<float>> grads;
};

Gradients gradients_of(const Model& m, std::int64_t batch, bool winograd) {
  BasicModel<float> model = m;
  PlanRequest r;
  r.kind = PlanKind::Gradients;
  r.batch = batch;
  r.loss = "loss";
  r.winograd = winograd;
  Executor<float> ex(model, make_plan(m.graph, r));
  const std::vector<float> x = random_values<float>(static_cast<std::size_t>(batch) * 28 * 28, 31, 0, 1);
  std::vector<float> labels(static_cast<std::size_t>(batch));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<float>(i * 7 % 10);
  ex.set_input("x", x.data(), x.size());
  ex.set_input("labels", labels.data(), labels.size());
  ex.run();
  Gradients g{ex.loss(), {}};
  for (const auto& [name, value] : model.parameters) g.grads.push_back(plangrad::testing::copy_of(ex.grad(name)));
  return g;
}

}  // namespace

TEST_CASE("Winograd training plans compute the direct plans' gradients to float rounding, the same bits per thread count",
          "[winograd]") {
  const Model m = models::fashion_resnet().build(5);
  const std::int64_t N = 6;
  const Gradients wino = gradients_of(m, N, true), direct = gradients_of(m, N, false);
  CHECK(std::abs(wino.loss - direct.loss) <= 1e-5f * std::abs(direct.loss));
  REQUIRE(wino.grads.size() == direct.grads.size());
  double worst = 0;
  bool differs = false;
  for (std::size_t i = 0; i < wino.grads.size(); ++i) {
    worst = std::max(worst, relative_gap(wino.grads[i], direct.grads[i]));
    differs = differs || !same_bits(wino.grads[i], direct.grads[i]);
  }
  INFO("max over parameters of max |winograd - direct| / max |direct| = " << worst);
  CHECK(worst < 1e-4);
  CHECK(differs);  // the plans really compute differently
  const Gradients again = gradients_of(m, N, true);
  for (std::size_t i = 0; i < wino.grads.size(); ++i) CHECK(same_bits(again.grads[i], wino.grads[i]));
  OpThreads two(2);
  const Gradients a = gradients_of(m, N, true), b = gradients_of(m, N, true);
  for (std::size_t i = 0; i < a.grads.size(); ++i) CHECK(same_bits(a.grads[i], b.grads[i]));
}
