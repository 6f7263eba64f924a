// fuse: a relu and the max_pool2d after it run as one step (OpDef::after_relu); so do a
// batchnorm, relu and 2x2 max_pool2d, and in inference a convolution, relu and 2x2
// max_pool2d (OpDef::then_relu_pool). Fused and unfused plans must compute the same bits
// -- losses, outputs, every gradient, the weights and running statistics after training
// -- in float and double, on one op thread and two; the fused plans have no relu step, no
// memory for the outputs and gradients kept out of memory, and a smaller arena; and
// fusion happens only where nothing else needs those outputs.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/random.hpp"
#include "engine/builder.hpp"
#include "engine/executor.hpp"
#include "engine/optimizer.hpp"
#include "networks/models.hpp"
#include "ops/batch_stats.hpp"
#include "planner/memory.hpp"
#include "planner/plan.hpp"
#include "tests/op_threads.hpp"
#include "tests/planner_by_hand.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using plangrad::testing::same_bits;

namespace {

Plan plan_of(const Graph& g, PlanKind kind, std::int64_t n, bool fuse, std::size_t elem,
             std::vector<std::string> outputs = {}) {
  PlanRequest r;
  r.kind = kind;
  r.batch = n;
  r.fuse = fuse;
  r.elem_bytes = elem;
  if (kind == PlanKind::Gradients) r.input_gradients = {"x"};
  r.outputs = std::move(outputs);
  return make_plan(g, r);
}

// Every input from one generator: class indices for "labels"; for "x", values in [-1, 1)
// with a quarter of them exact zeros and ties (-0.5, 0, 0.5), so that some windows of a
// relu'd input hold nothing positive, ties, and zeros.
template <class T>
void feed(Executor<T>& ex, const Graph& graph, std::size_t classes, std::uint64_t seed) {
  Rng rng(seed);
  for (const ValueDecl& v : graph.values) {
    if (v.kind != ValueKind::Input || ex.plan().tensor_of_value(v.name) < 0) continue;
    const TensorRef<T> t = ex.input(v.name);
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (v.name == "labels") {
        t[i] = static_cast<T>(rng.next() % classes);
      } else {
        const std::uint64_t r = rng.next();
        t[i] = r % 4 == 0 ? static_cast<T>(static_cast<double>(r / 4 % 3) * 0.5 - 0.5)
                          : static_cast<T>(rng.uniform(-1.0, 1.0));
      }
    }
  }
}

std::size_t relu_steps(const Plan& p) {
  std::size_t n = 0;
  for (const Step& st : p.schedule.steps)
    if ((st.kind == StepKind::Forward || st.kind == StepKind::Backward) &&
        p.graph.nodes[static_cast<std::size_t>(st.node)].op->name == "relu")
      ++n;
  return n;
}

template <class T>
bool nonzero(const TensorRef<const T>& g) {
  for (T e : g)
    if (e != T(0)) return true;
  return false;
}

// Fused (a) against unfused (b) inference plans: `output` after one run on the same inputs.
template <class T>
void same_outputs(Executor<T>& a, Executor<T>& b, const Graph& graph, std::size_t classes, const std::string& output) {
  feed(a, graph, classes, 20);
  feed(b, graph, classes, 20);
  a.run();
  b.run();
  CHECK(nonzero(a.value(output)));
  CHECK(same_bits(a.value(output), b.value(output)));
}

// Fused (a) against unfused (b) gradients plans of one model (ma is a's): the loss and
// every gradient, x's included.
template <class T>
void same_gradients(Executor<T>& a, Executor<T>& b, const BasicModel<T>& ma, std::size_t classes) {
  feed(a, ma.graph, classes, 1);
  feed(b, ma.graph, classes, 1);
  a.run();
  b.run();
  const T la = a.loss(), lb = b.loss();
  CHECK(std::memcmp(&la, &lb, sizeof(T)) == 0);
  std::vector<std::string> names{"x"};
  for (const auto& [name, value] : ma.parameters) names.push_back(name);
  for (const std::string& p : names) {
    INFO("gradient of " << p);
    CHECK(nonzero(a.grad(p)));
    CHECK(same_bits(a.grad(p), b.grad(p)));
  }
}

// Three Adam steps (weight decay on) with a fused and an unfused training plan: the
// losses, then the weights and running statistics. check(plan) looks at the fused plan
// first.
template <class T, class Check>
void same_training(const BasicModel<T>& model, Dim batch, std::size_t classes, const Check& check) {
  BasicModel<T> ma = model, mb = model;
  AdamOptions o;
  o.lr = 1e-2;
  o.weight_decay = 1e-3;
  Adam<T> sa(ma, o), sb(mb, o);
  Executor<T> a(ma, plan_of(model.graph, PlanKind::Training, batch, true, sizeof(T)), &sa);
  Executor<T> b(mb, plan_of(model.graph, PlanKind::Training, batch, false, sizeof(T)), &sb);
  check(a.plan());
  for (int step = 0; step < 3; ++step) {
    feed(a, model.graph, classes, 10 + static_cast<std::uint64_t>(step));
    feed(b, model.graph, classes, 10 + static_cast<std::uint64_t>(step));
    a.run();
    b.run();
    const T la = a.loss(), lb = b.loss();
    CHECK(std::memcmp(&la, &lb, sizeof(T)) == 0);
  }
  for (const auto& [name, value] : ma.parameters) {
    INFO(name);
    CHECK(same_bits(value, mb.parameters.at(name)));
  }
  for (const auto& [name, value] : ma.state) {
    INFO(name);
    CHECK(same_bits(value, mb.state.at(name)));
  }
}

// A gradients plan, a few training steps and an inference pass, fused against unfused.
// `fused_pairs`: the relu + max_pool2d pairs the graph has; `classes`: the label range.
template <class T>
void check_same_bits(const Model& m, Dim batch, std::size_t fused_pairs, std::size_t classes, const std::string& output) {
  const BasicModel<T> model = m.cast<T>();
  {  // gradients: the loss and every gradient, x's included
    BasicModel<T> ma = model, mb = model;
    Executor<T> a(ma, plan_of(model.graph, PlanKind::Gradients, batch, true, sizeof(T)));
    Executor<T> b(mb, plan_of(model.graph, PlanKind::Gradients, batch, false, sizeof(T)));
    // The comparison means something only if the fused plan fuses every pair.
    REQUIRE(a.plan().stats.fused_steps == 2 * fused_pairs);
    REQUIRE(b.plan().stats.fused_steps == 0);
    CHECK(relu_steps(a.plan()) == 0);
    same_gradients(a, b, ma, classes);
  }
  // training: the weights and running statistics after three Adam steps
  same_training(model, batch, classes, [](const Plan& p) { REQUIRE(relu_steps(p) == 0); });
  {  // inference (batchnorm folded into the convolution where there is one)
    BasicModel<T> ma = model;
    Executor<T> a(ma, plan_of(model.graph, PlanKind::Inference, batch, true, sizeof(T), {output}));
    Executor<T> b(ma, plan_of(model.graph, PlanKind::Inference, batch, false, sizeof(T), {output}));
    CHECK(a.plan().stats.fused_steps == fused_pairs);
    CHECK(relu_steps(a.plan()) == 0);
    same_outputs(a, b, model.graph, classes, output);
  }
}

// x [N, 3, H, W] -> z (a 3 -> 4 convolution, or x itself) -> relu -> max_pool2d (kernel,
// stride, padding) -> p; with `second`, max_pool2d of z itself -> q too, and p + q.
// flatten -> dense (output "fc") -> softmax cross-entropy over 5 classes. q declared before the relu
// comes after it in the forward order, so that q's backward writes z's gradient and the
// fused step adds to it; declared after, the other way round.
enum class Second { None, Before, After };

Model conv_graph(Dim h, Dim w, std::vector<std::int64_t> kernel, std::vector<std::int64_t> stride,
                 std::vector<std::int64_t> padding, bool conv, Second second, std::uint64_t seed) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 3, h, w});
  Value labels = b.input("labels", {kBatchDim});
  Value z = conv ? models::conv2d(b, x, 3, 4, 3, 1, "conv") : x;
  const Attrs attrs{{"kernel", kernel}, {"stride", stride}, {"padding", padding}};
  Value q;
  if (second == Second::Before) q = b.op("max_pool2d", {z}, attrs, "pool_z");
  Value p = b.op("max_pool2d", {b.relu(z, "relu")}, attrs, "pool");
  if (second == Second::After) q = b.op("max_pool2d", {z}, attrs, "pool_z");
  if (second != Second::None) p = b.add(p, q, "sum");
  Value logits = b.dense(b.op("flatten", {p}, {}, "flatten"), 5, "fc");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  return b.build(seed);
}

}  // namespace

TEST_CASE("relu + max_pool2d fused: small conv graphs compute the same bits", "[fuse][relu_pool]") {
  struct Case {
    const char* name;
    Dim h, w;
    std::vector<std::int64_t> kernel, stride, padding;
  } cases[] = {{"2x2, odd sizes", 9, 11, {2, 2}, {}, {0, 0}},
               {"2x2, rows of blocks", 6, 36, {2, 2}, {}, {0, 0}},
               {"3x3 stride 2 padding 1, overlapping", 7, 8, {3, 3}, {2, 2}, {1, 1}},
               {"2x2 stride 1", 5, 6, {2, 2}, {1, 1}, {0, 0}}};
  for (const Case& c : cases)
    for (const bool conv : {true, false})
      for (const Second second : {Second::None, Second::Before, Second::After}) {
        INFO(c.name << (conv ? ", after a convolution" : ", on the input") << ", z's other use "
                    << (second == Second::None ? "none" : second == Second::Before ? "before" : "after"));
        const Model m = conv_graph(c.h, c.w, c.kernel, c.stride, c.padding, conv, second, 7);
        if (second != Second::None) {
          // z's gradient is added to by the fused step (the kernels' accumulating paths)
          // or written by it.
          const Plan p = plan_of(m.graph, PlanKind::Gradients, 3, true, sizeof(float));
          int accumulates = -1;
          for (const Step& st : p.schedule.steps)
            if (st.kind == StepKind::Backward && st.fused >= 0) accumulates = st.accumulate.at(0);
          REQUIRE(accumulates == (second == Second::Before ? 1 : 0));
        }
        check_same_bits<float>(m, 3, 1, 5, "fc");
        check_same_bits<double>(m, 3, 1, 5, "fc");
      }
}

TEST_CASE("relu + max_pool2d fused: the relu steps and their memory are gone", "[fuse][relu_pool]") {
  // A relu on the input: after a convolution or a batchnorm, the three run as one step
  // (the tests below).
  const Model m = conv_graph(28, 28, {2, 2}, {}, {0, 0}, false, Second::None, 3);
  for (const PlanKind kind : {PlanKind::Training, PlanKind::Gradients, PlanKind::Inference}) {
    INFO(plan_kind_name(kind));
    const Plan fused = plan_of(m.graph, kind, 64, true, sizeof(float));
    const Plan unfused = plan_of(m.graph, kind, 64, false, sizeof(float));
    CHECK(relu_steps(fused) == 0);
    // Training: x takes no gradient, so relu has no backward step.
    CHECK(relu_steps(unfused) == (kind == PlanKind::Gradients ? 2 : 1));
    CHECK(fused.schedule.steps.size() + relu_steps(unfused) == unfused.schedule.steps.size());
    // The relu outputs (and their gradients) get no memory.
    for (const Step& st : fused.schedule.steps) {
      if (st.fused < 0) continue;
      REQUIRE(relu_fused(fused.graph, st));
      const int y = fused.graph.nodes[static_cast<std::size_t>(st.fused)].outputs[0];
      const int t = fused.schedule.value_tensor[static_cast<std::size_t>(y)];
      const int dt = fused.schedule.grad_tensor[static_cast<std::size_t>(y)];
      CHECK(!fused.offset[static_cast<std::size_t>(t)]);
      if (dt >= 0) CHECK(!fused.offset[static_cast<std::size_t>(dt)]);
    }
    CHECK(fused.stats.fused_away == relu_steps(unfused));
    CHECK(fused.stats.naive_bytes == unfused.stats.naive_bytes);
    CHECK(fused.arena_bytes <= static_cast<std::size_t>(1.05 * static_cast<double>(fused.stats.lower_bound_bytes)));
    // Unfused, relu runs in place both ways (its output over its input, its input gradient
    // over its output gradient); fused, the input lives on in its place until the fused
    // backward. The arena is no larger.
    CHECK(fused.arena_bytes <= unfused.arena_bytes);
  }
}

TEST_CASE("relu + max_pool2d fuse only where nothing else needs relu's output", "[fuse][relu_pool]") {
  auto pairs = [](const Graph& g, std::vector<std::string> outputs = {}) {
    PlanRequest r;
    r.kind = outputs.empty() ? PlanKind::Training : PlanKind::Inference;
    r.batch = 2;
    r.outputs = std::move(outputs);
    return make_plan(g, r).stats.fused_steps;
  };
  const Attrs pool2{{"kernel", std::vector<std::int64_t>{2, 2}}};
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2, 4, 4});
  Value w = b.parameter("w", {2, 2, 1, 1}, init::glorot_uniform());
  Value z = b.op("conv2d", {x, w, b.parameter("c", {2}, init::zeros())}, {}, "conv");
  Value y = b.relu(z, "relu");
  Value p = b.op("max_pool2d", {y}, pool2, "pool");
  SECTION("relu's output kept") {
    b.output(b.mse_loss(p, b.op("max_pool2d", {x}, pool2), "loss"));
    b.output(y);
    CHECK(pairs(b.graph(), {"loss", y.name}) == 0);
    CHECK(pairs(b.graph(), {"loss"}) == 1);
  }
  SECTION("relu's output read by another node too") {
    b.output(b.mse_loss(p, b.op("max_pool2d", {y}, pool2, "pool2"), "loss"));
    CHECK(pairs(b.graph()) == 0);
  }
  SECTION("a relu that follows another op than max_pool2d") {
    b.output(b.mse_loss(b.relu(p, "relu2"), b.op("max_pool2d", {x}, pool2), "loss"));
    CHECK(pairs(b.graph()) == 2);  // relu + pool; relu2 + mse_loss has no fused kernels
  }
}

// ---- fuse on schedules built by hand --------------------------------------------------------

namespace {

// z [1,1,4,4] -> relu 'act' -> y -> max_pool2d 'pool' -> p -> mse_loss 'loss' (t) -> L, as
// build_backward would schedule it, z's gradient accumulating (as if z had another use).
struct ReluPool {
  testing::HandGraph h;
  int z, y, p, t, l;
  int act, pool, loss;
  ReluPool() {
    z = h.value("z", ValueRole::Intermediate, {1, 1, 4, 4});
    t = h.value("t", ValueRole::Input, {1, 1, 2, 2});
    y = h.value("y");
    p = h.value("p");
    l = h.value("L");
    act = h.node("act", "relu", {z}, {y});
    pool = h.node("pool", "max_pool2d", {y}, {p}, {{"kernel", std::vector<std::int64_t>{2, 2}}});
    loss = h.node("loss", "mse_loss", {p, t}, {l});
  }
};

enum : int { Z, Y, P, T, L, DL, DP, DY, DZ };

Schedule relu_pool_schedule(const ReluPool& g) {
  Schedule s;
  s.mode = Mode::Train;
  s.tensors = {{"z", {1, 1, 4, 4}, g.z, TensorRole::Activation},      {"y", {1, 1, 4, 4}, g.y, TensorRole::Activation},
               {"p", {1, 1, 2, 2}, g.p, TensorRole::Activation}, {"t", {1, 1, 2, 2}, g.t, TensorRole::Input},
               {"L", {}, g.l, TensorRole::Activation},            {"grad:L", {}, g.l, TensorRole::Gradient},
               {"grad:p", {1, 1, 2, 2}, g.p, TensorRole::Gradient}, {"grad:y", {1, 1, 4, 4}, g.y, TensorRole::Gradient},
               {"grad:z", {1, 1, 4, 4}, g.z, TensorRole::Gradient}};
  s.value_tensor = {Z, T, Y, P, L};
  s.grad_tensor = {DZ, -1, DY, DP, DL};
  s.steps = {testing::forward_step(g.act, {Z}, {Y}),
             testing::forward_step(g.pool, {Y}, {P}),
             testing::forward_step(g.loss, {P, T}, {L}),
             testing::fill_step(DL),
             testing::backward_step(g.loss, {P, T}, {L}, {DL}, {DP, -1}),
             testing::backward_step(g.pool, {Y}, {P}, {DP}, {DY}),
             testing::backward_step(g.act, {Z}, {Y}, {DY}, {DZ}, {1})};
  s.keep = {L, DZ};
  s.loss = L;
  return s;
}

}  // namespace

TEST_CASE("fuse merges relu and the max_pool2d after it, forward and backward", "[fuse][relu_pool]") {
  const ReluPool g;
  const Schedule s = fuse(g.h.g, relu_pool_schedule(g));
  REQUIRE(s.steps.size() == 5);
  const Step& f = s.steps[0];
  CHECK(f.kind == StepKind::Forward);
  CHECK(f.node == g.pool);  // max_pool2d's after_relu kernels run
  CHECK(f.fused == g.act);
  CHECK(f.in == std::vector<int>{Z});  // relu's input
  CHECK(f.out == std::vector<int>{P});
  const Step& bwd = s.steps[4];
  CHECK(bwd.kind == StepKind::Backward);
  CHECK(bwd.node == g.pool);
  CHECK(bwd.fused == g.act);
  CHECK(bwd.in == std::vector<int>{Z});
  CHECK(bwd.d_out == std::vector<int>{DP});
  CHECK(bwd.d_in == std::vector<int>{DZ});         // relu's input gradient ...
  CHECK(bwd.accumulate == std::vector<char>{1});  // ... with relu's flag
  // The fused backward reads z: liveness keeps it until then.
  CHECK(in_op(g.h.g, bwd).name == "max_pool2d");
  CHECK(in_op(g.h.g, bwd).backward_reads_in_at(0));
  const std::vector<Interval> live = liveness(g.h.g, s);
  CHECK(live[Y].last < 0);
  CHECK(live[DY].last < 0);
  CHECK(live[Z].last == 4);
}

TEST_CASE("fuse leaves relu and max_pool2d apart when the backward pair cannot merge", "[fuse][relu_pool]") {
  ReluPool g;
  Schedule s = relu_pool_schedule(g);
  SECTION("a step between the backward pair: the forward pair stays apart too") {
    // The fused forward writes no y, which the max-pool's own backward would read.
    s.steps.insert(s.steps.begin() + 6, testing::fill_step(DL));
    const Schedule fused = fuse(g.h.g, s);
    CHECK(fused.steps.size() == 8);
    for (const Step& st : fused.steps) CHECK(st.fused == -1);
  }
  SECTION("relu's output kept") {
    s.keep.push_back(Y);
    CHECK(fuse(g.h.g, s).steps.size() == 7);
  }
  SECTION("relu's output gradient kept") {
    s.keep.push_back(DY);
    CHECK(fuse(g.h.g, s).steps.size() == 7);
  }
  SECTION("the first op is no relu") {
    g.h.g.nodes[static_cast<std::size_t>(g.act)].op = &find_op("sigmoid");
    CHECK(fuse(g.h.g, s).steps.size() == 7);
  }
  SECTION("no backward steps: the forward pair alone") {
    s.steps.resize(3);
    const Schedule fused = fuse(g.h.g, s);
    REQUIRE(fused.steps.size() == 2);
    CHECK(fused.steps[0].fused == g.act);
  }
}

// ---- batchnorm + relu + max_pool2d as one step (OpDef::then_relu_pool) ---------------------

namespace {

// x [N, 3, H, W] -> z (a 3 -> 4 convolution, or x itself) -> batchnorm 'bn' -> relu ->
// max_pool2d 2x2 'pool' -> flatten -> dense 'fc' (5) -> softmax cross-entropy. Beta
// starts away from 0, so that the relu cuts somewhere else than at the mean.
Model bn_graph(Dim h, Dim w, bool conv, std::uint64_t seed) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 3, h, w});
  Value labels = b.input("labels", {kBatchDim});
  const Dim c = conv ? 4 : 3;
  Value z = conv ? models::conv2d(b, x, 3, c, 3, 1, "conv") : x;
  Value gamma = b.parameter("bn.gamma", {c}, init::constant(1.25));
  Value beta = b.parameter("bn.beta", {c}, init::constant(0.25));
  Value mean = b.state("bn.running_mean", {c}, init::zeros());
  Value var = b.state("bn.running_var", {c}, init::constant(1));
  Value y = b.op("batchnorm", {z, gamma, beta, mean, var}, {}, "bn");
  Value p = b.op("max_pool2d", {b.relu(y, "relu")}, {{"kernel", std::vector<std::int64_t>{2, 2}}}, "pool");
  Value logits = b.dense(b.op("flatten", {p}, {}, "flatten"), 5, "fc");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  return b.build(seed);
}

std::size_t then_relu_pool_steps(const Plan& p) {
  return static_cast<std::size_t>(std::count_if(p.schedule.steps.begin(), p.schedule.steps.end(),
                                                [&](const Step& st) { return relu_pool_fused(p.graph, st); }));
}

std::size_t batchnorm_steps(const Plan& p) {
  std::size_t n = 0;
  for (const Step& st : p.schedule.steps)
    if ((st.kind == StepKind::Forward || st.kind == StepKind::Backward) &&
        p.graph.nodes[static_cast<std::size_t>(st.node)].op->name == "batchnorm" && st.fused < 0)
      ++n;
  return n;
}

// Fused against unfused: a gradients plan (Train mode, and Eval mode), three Adam steps,
// and an inference plan without folding. `triples`: the graph's batchnorm + relu + pool.
template <class T>
void check_bn_same_bits(const Model& m, Dim batch, std::size_t triples, std::size_t classes, const std::string& output) {
  const BasicModel<T> model = m.cast<T>();
  for (const Mode mode : {Mode::Train, Mode::Eval}) {
    INFO("gradients, mode " << (mode == Mode::Train ? "train" : "eval"));
    BasicModel<T> ma = model, mb = model;
    PlanRequest r;
    r.kind = PlanKind::Gradients;
    r.mode = static_cast<int>(mode);
    r.batch = batch;
    r.elem_bytes = sizeof(T);
    r.input_gradients = {"x"};
    Executor<T> a(ma, make_plan(model.graph, r));
    r.fuse = false;
    Executor<T> b(mb, make_plan(model.graph, r));
    REQUIRE(then_relu_pool_steps(a.plan()) == 2 * triples);
    CHECK(batchnorm_steps(a.plan()) == 0);
    CHECK(relu_steps(a.plan()) == 0);
    same_gradients(a, b, ma, classes);
  }
  // training: the weights and running statistics after three Adam steps
  same_training(model, batch, classes, [&](const Plan& p) { REQUIRE(then_relu_pool_steps(p) == 2 * triples); });
  {  // inference, batchnorm kept (not folded into the convolution): the forward alone, Eval
    BasicModel<T> ma = model;
    PlanRequest r;
    r.batch = batch;
    r.elem_bytes = sizeof(T);
    r.outputs = {output};
    r.fold_batchnorm = false;
    Executor<T> a(ma, make_plan(model.graph, r));
    r.fuse = false;
    Executor<T> b(ma, make_plan(model.graph, r));
    CHECK(then_relu_pool_steps(a.plan()) == triples);
    same_outputs(a, b, model.graph, classes, output);
  }
}

// Synchronized batchnorm with one rank: the sums go through the BatchStatsSum and come back
// as they were, down the fused kernels' synchronized paths.
struct OneRank final : BatchStatsSum {
  int calls = 0;
  void sum(double*, std::size_t) override { ++calls; }
};

}  // namespace

TEST_CASE("batchnorm + relu + max_pool2d fused: the MNIST CNN computes the same bits", "[fuse][bn_relu_pool]") {
  const Model cnn = models::mnist_cnn().build(3);
  SECTION("one op thread") {
    const testing::OpThreads threads(1);
    check_bn_same_bits<float>(cnn, 4, 2, 10, "logits");
    check_bn_same_bits<double>(cnn, 4, 2, 10, "logits");
  }
  SECTION("two op threads") {
    const testing::OpThreads threads(2);
    check_bn_same_bits<float>(cnn, 16, 2, 10, "logits");
    check_bn_same_bits<double>(cnn, 16, 2, 10, "logits");
  }
  SECTION("synchronized batchnorm") {
    OneRank rank;
    set_batch_stats_sum(&rank);
    check_bn_same_bits<float>(cnn, 4, 2, 10, "logits");
    set_batch_stats_sum(nullptr);
    CHECK(rank.calls > 0);
  }
}

TEST_CASE("batchnorm + relu + max_pool2d fused: small graphs compute the same bits", "[fuse][bn_relu_pool]") {
  // Odd sizes (a last row and column outside every window), rows of 16 windows and more
  // (the vector blocks), rows of fewer than 8 windows (the short rows), one window.
  const struct {
    Dim h, w;
  } sizes[] = {{9, 11}, {6, 36}, {14, 14}, {5, 4}, {2, 2}, {3, 17}};
  for (const auto& size : sizes)
    for (const bool conv : {true, false}) {
      INFO(size.h << "x" << size.w << (conv ? ", after a convolution" : ", on the input"));
      const Model m = bn_graph(size.h, size.w, conv, 5);
      check_bn_same_bits<float>(m, 3, 1, 5, "fc");
      check_bn_same_bits<double>(m, 3, 1, 5, "fc");
    }
}

TEST_CASE("batchnorm + relu + max_pool2d fused: y, relu's output and their gradients get no memory",
          "[fuse][bn_relu_pool]") {
  const Model cnn = models::mnist_cnn().build(3);
  for (const PlanKind kind : {PlanKind::Training, PlanKind::Gradients}) {
    INFO(plan_kind_name(kind));
    const Plan fused = plan_of(cnn.graph, kind, 64, true, sizeof(float));
    const Plan unfused = plan_of(cnn.graph, kind, 64, false, sizeof(float));
    CHECK(then_relu_pool_steps(fused) == 4);
    CHECK(fused.schedule.steps.size() + 8 == unfused.schedule.steps.size());
    for (const Step& st : fused.schedule.steps) {
      if (!relu_pool_fused(fused.graph, st)) continue;
      // batchnorm's output and relu's, and relu's output gradient: never touched. Batchnorm's
      // output gradient is the backward's workspace, alive for that step alone.
      const NodeInfo& bn = fused.graph.nodes[static_cast<std::size_t>(st.node)];
      const int y = bn.outputs[0];
      const int r = fused.graph.nodes[static_cast<std::size_t>(st.fused)].inputs[0];
      for (const int t : {fused.schedule.value_tensor[static_cast<std::size_t>(y)],
                          fused.schedule.value_tensor[static_cast<std::size_t>(r)],
                          fused.schedule.grad_tensor[static_cast<std::size_t>(r)]})
        CHECK(!fused.offset[static_cast<std::size_t>(t)]);
      if (st.kind == StepKind::Backward) {
        CHECK(st.workspace == fused.schedule.grad_tensor[static_cast<std::size_t>(y)]);
        CHECK(fused.live[static_cast<std::size_t>(st.workspace)].first ==
              fused.live[static_cast<std::size_t>(st.workspace)].last);
      }
    }
    CHECK(fused.stats.naive_bytes == unfused.stats.naive_bytes);
    CHECK(fused.arena_bytes < unfused.arena_bytes);
  }
}

TEST_CASE("batchnorm + relu + max_pool2d fuse only where the kernels and the graph allow", "[fuse][bn_relu_pool]") {
  enum class Other { None, KeepY, ReluUse, GammaInput };
  auto triples = [](Dim h, Dim w, const Attrs& pool, Other other) {
    GraphBuilder b;
    Value x = b.input("x", {kBatchDim, 2, h, w});
    Value gamma = other == Other::GammaInput ? b.input("g", {2}) : b.parameter("bn.gamma", {2}, init::constant(1));
    Value y = b.op("batchnorm",
                   {x, gamma, b.parameter("bn.beta", {2}, init::zeros()), b.state("bn.running_mean", {2}, init::zeros()),
                    b.state("bn.running_var", {2}, init::constant(1))},
                   {}, "bn");
    Value r = b.relu(y, "relu");
    Value p = b.op("max_pool2d", {r}, pool, "pool");
    Value loss = b.mse_loss(p, b.op("max_pool2d", {x}, pool, "target"), "loss");
    if (other == Other::ReluUse)
      loss = b.add(loss, b.mse_loss(b.op("max_pool2d", {r}, pool, "pool2"), b.op("max_pool2d", {x}, pool), "loss2"));
    b.output(loss);
    PlanRequest req;
    req.kind = PlanKind::Training;
    req.batch = 2;
    if (other == Other::KeepY) req.outputs = {loss.name, y.name};
    return then_relu_pool_steps(make_plan(b.build(1).graph, req));
  };
  const Attrs pool2{{"kernel", std::vector<std::int64_t>{2, 2}}};
  CHECK(triples(4, 6, pool2, Other::None) == 2);
  CHECK(triples(4, 6, pool2, Other::KeepY) == 0);
  CHECK(triples(4, 6, pool2, Other::ReluUse) == 0);
  CHECK(triples(4, 6, pool2, Other::GammaInput) == 0);
  CHECK(triples(4, 6, {{"kernel", std::vector<std::int64_t>{3, 3}}}, Other::None) == 0);
  CHECK(triples(4, 6, {{"kernel", std::vector<std::int64_t>{2, 2}}, {"stride", std::vector<std::int64_t>{1, 1}}},
                Other::None) == 0);
  CHECK(triples(4, 6, {{"kernel", std::vector<std::int64_t>{2, 2}}, {"padding", std::vector<std::int64_t>{1, 1}}},
                Other::None) == 0);
  CHECK(triples(64, 64, pool2, Other::None) == 2);  // kReluPoolPlane values a plane
  CHECK(triples(65, 64, pool2, Other::None) == 0);  // more would not fit the kernels' stack buffers
}

// ---- conv2d + relu + max_pool2d in inference plans (OpDef::then_relu_pool of conv2d) ------

namespace {

// x [N, 3, H, W] -> conv2d (or conv2d_nobias) 3 -> 5, kernel k, stride st, padding pd ->
// relu -> max_pool2d 2x2 -> flatten -> dense 'fc' (4) -> softmax cross-entropy 'loss'.
Model conv_pool_graph(Dim h, Dim w, Dim k, Dim st, Dim pd, bool bias) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 3, h, w});
  Value wt = b.parameter("conv.w", {5, 3, k, k}, init::glorot_uniform());
  std::vector<Value> in{x, wt};
  if (bias) in.push_back(b.parameter("conv.b", {5}, init::constant(-0.05)));
  Value z = b.op(bias ? "conv2d" : "conv2d_nobias", in, {{"stride", std::vector<std::int64_t>{st, st}},
                                                        {"padding", std::vector<std::int64_t>{pd, pd}}},
                 "conv");
  Value p = b.op("max_pool2d", {b.relu(z, "relu")}, {{"kernel", std::vector<std::int64_t>{2, 2}}}, "pool");
  Value fc = b.dense(b.op("flatten", {p}, {}, "flatten"), 4, "fc");
  b.output(b.softmax_cross_entropy(fc, b.input("labels", {kBatchDim}), "loss"));
  b.output(fc);
  return b.build(9);
}

template <class T>
void check_conv_pool_bits(const Model& m, Dim batch, std::size_t triples) {
  BasicModel<T> model = m.cast<T>();
  Executor<T> a(model, plan_of(model.graph, PlanKind::Inference, batch, true, sizeof(T), {"fc"}));
  Executor<T> b(model, plan_of(model.graph, PlanKind::Inference, batch, false, sizeof(T), {"fc"}));
  REQUIRE(then_relu_pool_steps(a.plan()) == triples);
  CHECK(relu_steps(a.plan()) == 0);
  same_outputs(a, b, model.graph, 4, "fc");
}

}  // namespace

TEST_CASE("conv2d + relu + max_pool2d fused in inference: the same bits", "[fuse][conv_relu_pool]") {
  // Stride-1 convolutions with rows of 12-16 or 28-32 columns take conv_rows, the others
  // im2col + GEMM; a 1x1 convolution no im2col at all.
  const struct {
    const char* name;
    Dim h, w, k, st, pd;
  } cases[] = {{"conv_rows, 28 wide", 28, 28, 3, 1, 1},  {"conv_rows, 14 wide, odd height", 15, 14, 3, 1, 1},
               {"im2col, stride 2", 17, 19, 3, 2, 1},    {"im2col, 7 wide", 9, 7, 3, 1, 1},
               {"pointwise", 6, 10, 1, 1, 0},            {"5x5, no padding", 12, 20, 5, 1, 0}};
  for (const auto& c : cases)
    for (const bool bias : {true, false}) {
      INFO(c.name << (bias ? ", conv2d" : ", conv2d_nobias"));
      const Model m = conv_pool_graph(c.h, c.w, c.k, c.st, c.pd, bias);
      for (const int threads : {1, 2}) {
        INFO(threads << " op threads");
        const testing::OpThreads t(threads);
        check_conv_pool_bits<float>(m, 3, 1);
        check_conv_pool_bits<double>(m, 3, 1);
        check_conv_pool_bits<float>(m, 16, 1);
      }
    }
  SECTION("the MNIST CNN, batchnorm folded into the convolutions") {
    const Model cnn = models::mnist_cnn().build(3);
    for (const Dim batch : {1, 64}) {
      BasicModel<float> model = cnn.cast<float>();
      Executor<float> a(model, plan_of(model.graph, PlanKind::Inference, batch, true, sizeof(float), {"logits"}));
      Executor<float> b(model, plan_of(model.graph, PlanKind::Inference, batch, false, sizeof(float), {"logits"}));
      REQUIRE(then_relu_pool_steps(a.plan()) == 2);
      same_outputs(a, b, model.graph, 10, "logits");
    }
  }
}

TEST_CASE("conv2d + relu + max_pool2d: inference only, the convolution's output gets no memory",
          "[fuse][conv_relu_pool]") {
  const Model m = conv_pool_graph(28, 28, 3, 1, 1, true);
  const Plan inference = plan_of(m.graph, PlanKind::Inference, 64, true, sizeof(float), {"fc"});
  const Plan unfused = plan_of(m.graph, PlanKind::Inference, 64, false, sizeof(float), {"fc"});
  REQUIRE(then_relu_pool_steps(inference) == 1);
  for (const Step& st : inference.schedule.steps) {
    if (!relu_pool_fused(inference.graph, st)) continue;
    const NodeInfo& conv = inference.graph.nodes[static_cast<std::size_t>(st.node)];
    CHECK(conv.name == "conv");
    CHECK(!inference.offset[static_cast<std::size_t>(inference.schedule.value_tensor[static_cast<std::size_t>(conv.outputs[0])])]);
    // The workspace holds an image's output [5, 28, 28] besides the padded image.
    REQUIRE(st.workspace >= 0);
    CHECK(inference.schedule.tensors[static_cast<std::size_t>(st.workspace)].shape[0] >= 5 * 28 * 28);
  }
  CHECK(inference.arena_bytes < unfused.arena_bytes);
  // Training and gradients plans keep the convolution's output for its backward: relu and
  // max_pool2d fuse as a pair.
  for (const PlanKind kind : {PlanKind::Training, PlanKind::Gradients}) {
    const Plan p = plan_of(m.graph, kind, 4, true, sizeof(float));
    CHECK(then_relu_pool_steps(p) == 0);
    CHECK(relu_steps(p) == 0);
  }
  // Not when the convolution's output or relu's is wanted as well.
  CHECK(then_relu_pool_steps(plan_of(m.graph, PlanKind::Inference, 4, true, sizeof(float), {"fc", "conv"})) == 0);
  CHECK(then_relu_pool_steps(plan_of(m.graph, PlanKind::Inference, 4, true, sizeof(float), {"fc", "relu"})) == 0);
}
