// fold_batchnorm: in Eval-mode inference plans a batchnorm after a convolution becomes a
// fold op (the folded weights, from the live values at every run) and one conv2d. The
// rewrite must happen exactly where nothing else reads the convolution's output, only in
// Eval-mode inference plans, and the folded plan must compute what the unfolded one does
// to float rounding.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/executor.hpp"
#include "networks/models.hpp"
#include "networks/resnet.hpp"
#include "planner/fold_batchnorm.hpp"
#include "planner/plan.hpp"
#include "tests/executor_helpers.hpp"
#include "tests/planner_by_hand.hpp"
#include "tests/random_values.hpp"

using namespace plangrad;
using plangrad::testing::HandGraph;
using plangrad::testing::logits_of;
using plangrad::testing::relative_gap;
using plangrad::testing::random_values;

namespace {

// x -> conv (named "conv", op `conv_op`) -> y -> batchnorm "bn" -> z -> relu -> r.
struct ConvBn {
  HandGraph h;
  int x, w, b = -1, gamma, beta, mean, var, y, z, r;
  int conv, bn, relu;
  explicit ConvBn(const std::string& conv_op = "conv2d") {
    x = h.value("x", ValueRole::Input, {2, 3, 5, 5});
    w = h.value("w", ValueRole::Parameter, {4, 3, 3, 3});
    if (conv_op == "conv2d") b = h.value("b", ValueRole::Parameter, {4});
    gamma = h.value("gamma", ValueRole::Parameter, {4});
    beta = h.value("beta", ValueRole::Parameter, {4});
    mean = h.value("mean", ValueRole::State, {4});
    var = h.value("var", ValueRole::State, {4});
    y = h.value("y");
    z = h.value("z");
    r = h.value("r");
    conv = h.node("conv", conv_op, b >= 0 ? std::vector<int>{x, w, b} : std::vector<int>{x, w}, {y},
                  {{"padding", std::vector<std::int64_t>{1, 1}}});
    bn = h.node("bn", "batchnorm", {y, gamma, beta, mean, var}, {z}, {{"eps", 1e-3}});
    relu = h.node("relu", "relu", {z}, {r});
  }
  FoldedGraph fold(const std::vector<int>& keep) const { return fold_batchnorm(h.g, {conv, bn, relu}, keep); }
};

bool plan_has_op(const Plan& p, const std::string& op) {
  return std::any_of(p.schedule.steps.begin(), p.schedule.steps.end(), [&](const Step& s) {
    return s.node >= 0 && p.graph.nodes[static_cast<std::size_t>(s.node)].op->name == op;
  });
}

}  // namespace

TEST_CASE("fold_batchnorm rewrites conv -> batchnorm into a fold op and one conv2d", "[fold_batchnorm]") {
  const ConvBn c;
  const FoldedGraph f = c.fold({c.r});
  REQUIRE(f.folded == 1);
  const IndexedGraph& g = f.graph;
  CHECK(f.order == std::vector<int>{c.conv, c.bn, c.relu});

  const NodeInfo& fold = g.nodes[static_cast<std::size_t>(c.conv)];
  CHECK(fold.op->name == "fold_conv_bn");
  CHECK(fold.name == "bn");
  CHECK(fold.inputs == std::vector<int>{c.w, c.b, c.gamma, c.beta, c.mean, c.var});
  CHECK(fold.attrs.get_float("eps") == 1e-3);
  const int wf = g.find_value("bn/w"), bf = g.find_value("bn/b");
  REQUIRE(wf >= 0);
  REQUIRE(bf >= 0);
  CHECK(fold.outputs == std::vector<int>{wf, bf});
  CHECK(g.values[static_cast<std::size_t>(wf)].producer == c.conv);
  CHECK(g.values[static_cast<std::size_t>(bf)].producer == c.conv);

  const NodeInfo& conv = g.nodes[static_cast<std::size_t>(c.bn)];
  CHECK(conv.op->name == "conv2d");
  CHECK(conv.name == "conv");
  CHECK(conv.inputs == std::vector<int>{c.x, wf, bf});
  CHECK(conv.outputs == std::vector<int>{c.z});
  CHECK(conv.attrs.get_ints("padding") == std::vector<std::int64_t>{1, 1});
  CHECK(g.values[static_cast<std::size_t>(c.z)].producer == c.bn);
  CHECK(g.values[static_cast<std::size_t>(c.y)].producer == -1);

  // The order stays runnable and the shapes follow: z keeps its shape, the folded values
  // take w's and [F].
  const std::vector<Shape> shapes = infer_shapes(g, f.order, 0);
  CHECK(shapes[static_cast<std::size_t>(c.z)] == Shape{2, 4, 5, 5});
  CHECK(shapes[static_cast<std::size_t>(wf)] == Shape{4, 3, 3, 3});
  CHECK(shapes[static_cast<std::size_t>(bf)] == Shape{4});
}

TEST_CASE("fold_batchnorm folds conv2d_nobias with the bias-free fold op", "[fold_batchnorm]") {
  const ConvBn c("conv2d_nobias");
  const FoldedGraph f = c.fold({c.r});
  REQUIRE(f.folded == 1);
  const NodeInfo& fold = f.graph.nodes[static_cast<std::size_t>(c.conv)];
  CHECK(fold.op->name == "fold_conv_nobias_bn");
  CHECK(fold.inputs == std::vector<int>{c.w, c.gamma, c.beta, c.mean, c.var});
  CHECK(f.graph.nodes[static_cast<std::size_t>(c.bn)].op->name == "conv2d");
}

TEST_CASE("fold_batchnorm leaves a convolution whose output something else reads", "[fold_batchnorm]") {
  ConvBn c;
  SECTION("a second consumer") {
    const int y2 = c.h.value("y2");
    const int other = c.h.node("other", "relu", {c.y}, {y2});
    const FoldedGraph f = fold_batchnorm(c.h.g, {c.conv, c.bn, c.relu, other}, {c.r, y2});
    CHECK(f.folded == 0);
    CHECK(f.order == std::vector<int>{c.conv, c.bn, c.relu, other});
    CHECK(f.graph.nodes[static_cast<std::size_t>(c.bn)].op->name == "batchnorm");
  }
  SECTION("the caller keeps y") {
    CHECK(c.fold({c.r, c.y}).folded == 0);
  }
  SECTION("a consumer that does not run does not count") {
    const int y2 = c.h.value("y2");
    c.h.node("other", "relu", {c.y}, {y2});
    CHECK(c.fold({c.r}).folded == 1);
  }
}

TEST_CASE("fold_batchnorm leaves a batchnorm after anything but a convolution", "[fold_batchnorm]") {
  HandGraph h;
  const int x = h.value("x", ValueRole::Input, {2, 4, 3, 3});
  const int gamma = h.value("gamma", ValueRole::Parameter, {4}), beta = h.value("beta", ValueRole::Parameter, {4});
  const int mean = h.value("mean", ValueRole::State, {4}), var = h.value("var", ValueRole::State, {4});
  const int a = h.value("a"), z1 = h.value("z1"), z2 = h.value("z2");
  const int relu = h.node("relu", "relu", {x}, {a});
  const int bn1 = h.node("bn1", "batchnorm", {a, gamma, beta, mean, var}, {z1});  // after a relu
  const int bn2 = h.node("bn2", "batchnorm", {x, gamma, beta, mean, var}, {z2});  // on an input
  const FoldedGraph f = fold_batchnorm(h.g, {relu, bn1, bn2}, {z1, z2});
  CHECK(f.folded == 0);
  CHECK(f.graph.nodes.size() == 3);
  CHECK(f.graph.values.size() == h.g.values.size());
}

TEST_CASE("fold_batchnorm's new value names never take an existing one", "[fold_batchnorm]") {
  ConvBn c;
  c.h.value("bn/w", ValueRole::Parameter, {1});
  const FoldedGraph f = c.fold({c.r});
  REQUIRE(f.folded == 1);
  const NodeInfo& fold = f.graph.nodes[static_cast<std::size_t>(c.conv)];
  CHECK(f.graph.values[static_cast<std::size_t>(fold.outputs[0])].name == "bn/w#2");
  CHECK(f.graph.values[static_cast<std::size_t>(fold.outputs[1])].name == "bn/b");
}

namespace {

// The network with batchnorm parameters and running statistics far from their initial
// values, so that a wrong fold (a missing eps, the variance for the standard deviation, a
// mean left out) shows.
Model with_moved_statistics(Model m) {
  std::uint64_t seed = 100;
  auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  auto fill = [&](Tensor<float>& t, double lo, double hi) {
    const std::vector<float> v = random_values<float>(t.size(), ++seed, lo, hi);
    std::copy(v.begin(), v.end(), t.data());
  };
  for (auto& [name, t] : m.parameters) {
    if (ends_with(name, ".gamma")) fill(t, 0.5, 2.0);
    if (ends_with(name, ".beta")) fill(t, -0.5, 0.5);
  }
  for (auto& [name, t] : m.state) {
    if (ends_with(name, ".running_mean")) fill(t, -0.3, 0.3);
    // Small variances too: eps (1e-5) then matters.
    if (ends_with(name, ".running_var")) fill(t, 1e-5, 2.0);
  }
  return m;
}

Plan eval_plan(const Graph& g, std::int64_t batch, bool fold, std::size_t elem = sizeof(float)) {
  PlanRequest r;
  r.kind = PlanKind::Inference;
  r.batch = batch;
  r.outputs = {"logits"};
  r.fold_batchnorm = fold;
  r.elem_bytes = elem;
  return make_plan(g, r);
}



}  // namespace

TEST_CASE("folded and unfolded Eval plans agree on the MNIST CNN and the residual CNN", "[fold_batchnorm]") {
  struct Case {
    const char* name;
    Model model;
    std::size_t folds;
  };
  const std::int64_t N = 5;
  Case cases[] = {{"mnist-cnn", with_moved_statistics(models::mnist_cnn().build(3)), 2},
                  {"fashion-resnet", with_moved_statistics(models::fashion_resnet().build(4)), 9}};
  for (Case& c : cases) {
    INFO(c.name);
    const Plan folded = eval_plan(c.model.graph, N, true), plain = eval_plan(c.model.graph, N, false);
    CHECK(folded.stats.folded == c.folds);
    CHECK(plain.stats.folded == 0);
    CHECK(plan_has_op(folded, "fold_conv_bn") != plan_has_op(folded, "fold_conv_nobias_bn"));
    CHECK_FALSE(plan_has_op(folded, "batchnorm"));
    CHECK(plan_has_op(plain, "batchnorm"));
    const std::vector<float> x = random_values<float>(static_cast<std::size_t>(N) * 28 * 28, 9, 0, 1);
    const std::vector<float> a = logits_of(c.model, folded, x), b = logits_of(c.model, plain, x);
    const double gap = relative_gap(a, b);
    INFO("float: max |folded - plain| / max |plain| = " << gap);
    CHECK(gap < 2e-6);
    CHECK(gap > 0);  // a different computation: the plans really differ

    // In double the two differ by double rounding only.
    BasicModel<double> md = c.model.cast<double>();
    const std::vector<double> xd(x.begin(), x.end());
    const double gap64 = relative_gap(logits_of(md, eval_plan(c.model.graph, N, true, sizeof(double)), xd),
                                      logits_of(md, eval_plan(c.model.graph, N, false, sizeof(double)), xd));
    INFO("double: " << gap64);
    CHECK(gap64 < 1e-12);

    // The folded weights are computed at every run from the live values: a changed
    // running mean moves the folded plan's output as it moves the unfolded one's.
    for (auto& [name, t] : c.model.state)
      for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] += 0.25f;
    Executor<float> ef(c.model, folded), ep(c.model, plain);
    ef.set_input("x", x.data(), x.size());
    ep.set_input("x", x.data(), x.size());
    ef.run();
    ep.run();
    const TensorRef<const float> lf = ef.value("logits"), lp = ep.value("logits");
    CHECK(relative_gap(std::vector<float>(lf.data, lf.data + lf.size()), std::vector<float>(lp.data, lp.data + lp.size())) < 1e-5);
    CHECK(relative_gap(std::vector<float>(lf.data, lf.data + lf.size()), a) > 1e-3);
  }
}

TEST_CASE("fold_batchnorm runs in Eval-mode inference plans only, and the switch turns it off", "[fold_batchnorm]") {
  const Graph g = models::mnist_cnn().graph();
  auto plan = [&](PlanKind kind, int mode, bool fold) {
    PlanRequest r;
    r.kind = kind;
    r.mode = mode;
    r.batch = 4;
    r.fold_batchnorm = fold;
    if (kind == PlanKind::Inference) r.outputs = {"logits"};
    else r.loss = "loss";
    return make_plan(g, r);
  };
  const int eval = static_cast<int>(Mode::Eval), train = static_cast<int>(Mode::Train);
  CHECK(plan(PlanKind::Inference, -1, true).stats.folded == 2);
  CHECK(plan(PlanKind::Inference, eval, true).stats.folded == 2);
  CHECK(plan(PlanKind::Inference, eval, false).stats.folded == 0);
  CHECK(plan(PlanKind::Inference, train, true).stats.folded == 0);
  for (PlanKind kind : {PlanKind::Training, PlanKind::Gradients})
    for (int mode : {-1, eval}) {
      const Plan p = plan(kind, mode, true);
      CHECK(p.stats.folded == 0);
      CHECK(plan_has_op(p, "batchnorm"));
      CHECK_FALSE(plan_has_op(p, "fold_conv_bn"));
    }
}

TEST_CASE("a folded plan's arena holds the folded weights and stays near its lower bound", "[fold_batchnorm]") {
  const Graph g = models::mnist_cnn().graph();
  for (std::size_t elem : {sizeof(float), sizeof(double)}) {
    const Plan p = eval_plan(g, 64, true, elem);
    for (const char* name : {"bn16/w", "bn16/b", "bn32/w", "bn32/b"}) {
      const int t = p.tensor_of_value(name);
      INFO(name);
      REQUIRE(t >= 0);
      CHECK(p.schedule.tensors[static_cast<std::size_t>(t)].role == TensorRole::Activation);
      CHECK(p.offset[static_cast<std::size_t>(t)].has_value());
    }
    // Nothing computes the convolutions' own outputs any more.
    CHECK(p.tensor_of_value("conv16") < 0);
    std::vector<BufferRequest> buffers;
    for (std::size_t k = 0; k < p.slots.bytes.size(); ++k)
      buffers.push_back({p.slots.bytes[k], 64, p.slots.live[k].first, p.slots.live[k].last});
    CHECK(p.stats.lower_bound_bytes == lower_bound_bytes(buffers));
    CHECK(p.arena_bytes >= p.stats.lower_bound_bytes);
    CHECK(static_cast<double>(p.arena_bytes) <= 1.05 * static_cast<double>(p.stats.lower_bound_bytes));
  }
}
