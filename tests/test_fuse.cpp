// fuse: an add_bias and the activation after it run as one step. Fused and unfused plans
// must compute the same bits (losses, values, every gradient, the weights after training),
// and fusion must happen exactly where nothing else reads the sum z = x + b.
#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/builder.hpp"
#include "engine/executor.hpp"
#include "engine/optimizer.hpp"
#include "planner/plan.hpp"
#include "tests/planner_by_hand.hpp"
#include "tests/random_values.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using plangrad::testing::random_values;
using plangrad::testing::same_bits;

namespace {

using ActFn = Value (GraphBuilder::*)(const Value&, std::string);

// x [N,F] (gradient requested), u [N,F] (no gradient), v [F] (a bias with no gradient),
// t [N,F]:
//   a  = act(x + b1)          fused; x also feeds `s`, so dx accumulates into the fused write
//   s  = a + x
//   h  = act(s . w2 + b2)     fused (a dense layer)
//   c  = act(h + v)           fused; v wants no gradient: the fused backward skips dbias
//   e  = act(u + b3)          fused; u wants no gradient: the fused backward skips dx
//   y  = c + e;  loss = mse(y, t)
// `keep_z`: request h's sum as an output, so that one pair must not fuse.
Model fuse_graph(ActFn act, Dim F, bool keep_z, std::uint64_t seed) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, F}), u = b.input("u", {kBatchDim, F});
  Value v = b.input("v", {F}), t = b.input("t", {kBatchDim, F});
  Value b1 = b.parameter("b1", {F}, init::torch_default(F));
  Value b2 = b.parameter("b2", {F}, init::torch_default(F));
  Value b3 = b.parameter("b3", {F}, init::torch_default(F));
  Value w2 = b.parameter("w2", {F, F}, init::glorot_uniform());
  Value a = (b.*act)(b.add_bias(x, b1, "z1"), "a");
  Value s = b.add(a, x, "s");
  Value z2 = b.add_bias(b.matmul(s, w2, "mm2"), b2, "z2");
  Value h = (b.*act)(z2, "h");
  Value c = (b.*act)(b.add_bias(h, v, "z3"), "c");
  Value e = (b.*act)(b.add_bias(u, b3, "z4"), "e");
  b.output(b.mse_loss(b.add(c, e, "y"), t, "loss"));
  if (keep_z) b.output(z2);
  return b.build(seed);
}

Plan plan_of(const Graph& g, PlanKind kind, std::int64_t n, bool fuse, std::size_t elem) {
  PlanRequest r;
  r.kind = kind;
  r.batch = n;
  r.fuse = fuse;
  r.elem_bytes = elem;
  if (kind == PlanKind::Gradients) r.input_gradients = {"x"};
  if (kind == PlanKind::Inference) r.outputs = {"y"};
  return make_plan(g, r);
}

template <class T>
void feed(Executor<T>& ex, std::size_t n, std::size_t f, bool with_t = true) {
  const std::vector<T> x = random_values<T>(n * f, 1, -2, 2), u = random_values<T>(n * f, 2, -2, 2),
                       v = random_values<T>(f, 3, -2, 2), t = random_values<T>(n * f, 4, -2, 2);
  ex.set_input("x", x.data(), x.size());
  ex.set_input("u", u.data(), u.size());
  ex.set_input("v", v.data(), v.size());
  if (with_t) ex.set_input("t", t.data(), t.size());
}

template <class T>
void check_same_bits(ActFn act, const char* act_name) {
  // F crosses bias_rows::kChunk (512) and the 16/8-lane batches; N is odd.
  for (Dim F : {Dim(1), Dim(25), Dim(600)}) {
    const std::int64_t N = 7;
    const auto n = static_cast<std::size_t>(N), f = static_cast<std::size_t>(F);
    INFO(act_name << ", F = " << F << ", " << sizeof(T) << "-byte scalars");
    const BasicModel<T> model = fuse_graph(act, F, false, 5).template cast<T>();

    {  // gradients: the loss and every gradient, including the accumulated one of x
      BasicModel<T> ma = model, mb = model;
      Executor<T> a(ma, plan_of(model.graph, PlanKind::Gradients, N, true, sizeof(T)));
      Executor<T> b(mb, plan_of(model.graph, PlanKind::Gradients, N, false, sizeof(T)));
      // The comparison means something only if the fused plan fuses every pair.
      REQUIRE(a.plan().stats.fused_steps == 8);  // 4 pairs, forward and backward
      REQUIRE(b.plan().stats.fused_steps == 0);
      feed(a, n, f);
      feed(b, n, f);
      a.run();
      b.run();
      const T la = a.loss(), lb = b.loss();
      CHECK(std::memcmp(&la, &lb, sizeof(T)) == 0);
      for (const char* p : {"b1", "b2", "b3", "w2", "x"}) {
        INFO("gradient of " << p);
        const TensorRef<const T> g = a.grad(p);
        bool nonzero = false;
        for (T e : g) nonzero = nonzero || e != T(0);
        CHECK(nonzero);
        CHECK(same_bits(g, b.grad(p)));
      }
    }
    {  // training: the weights after three SGD steps with momentum
      BasicModel<T> ma = model, mb = model;
      SGD<T> sa(ma, {0.05, 0.9, 1e-4}), sb(mb, {0.05, 0.9, 1e-4});
      Executor<T> a(ma, plan_of(model.graph, PlanKind::Training, N, true, sizeof(T)), &sa);
      Executor<T> b(mb, plan_of(model.graph, PlanKind::Training, N, false, sizeof(T)), &sb);
      feed(a, n, f);
      feed(b, n, f);
      for (int step = 0; step < 3; ++step) {
        a.run();
        b.run();
      }
      for (const auto& [name, value] : ma.parameters) {
        INFO(name);
        CHECK(same_bits(value, mb.parameters.at(name)));
      }
    }
    {  // inference
      BasicModel<T> m = model;
      Executor<T> a(m, plan_of(model.graph, PlanKind::Inference, N, true, sizeof(T)));
      Executor<T> b(m, plan_of(model.graph, PlanKind::Inference, N, false, sizeof(T)));
      CHECK(a.plan().stats.fused_steps == 4);
      feed(a, n, f, false);
      feed(b, n, f, false);
      a.run();
      b.run();
      CHECK(same_bits(a.value("y"), b.value("y")));
    }
  }
}

bool fused(const Plan& p, const std::string& bias_node) {
  for (const Step& st : p.schedule.steps)
    if (st.fused >= 0 && p.graph.nodes[static_cast<std::size_t>(st.fused)].name == bias_node) return true;
  return false;
}

}  // namespace

TEST_CASE("fused add_bias + activation steps compute the same bits as the two steps", "[fuse]") {
  check_same_bits<float>(&GraphBuilder::relu, "relu");
  check_same_bits<float>(&GraphBuilder::sigmoid, "sigmoid");
  check_same_bits<float>(&GraphBuilder::tanh, "tanh");
  check_same_bits<double>(&GraphBuilder::relu, "relu");
  check_same_bits<double>(&GraphBuilder::sigmoid, "sigmoid");
  check_same_bits<double>(&GraphBuilder::tanh, "tanh");
}

TEST_CASE("fuse merges a pair only when nothing else reads the sum", "[fuse]") {
  const Model model = fuse_graph(&GraphBuilder::tanh, 8, false, 1);
  const Plan p = plan_of(model.graph, PlanKind::Training, 4, true, sizeof(float));
  for (const char* z : {"z1", "z2", "z3", "z4"}) CHECK(fused(p, z));
  // The sums and their gradients get no memory; the plan is no larger than the unfused one.
  for (const char* z : {"z1", "z2", "z3", "z4"}) {
    INFO(z);
    const int t = p.tensor_of_value(z), dt = p.tensor_of_grad(z);
    REQUIRE(t >= 0);
    CHECK(p.slots.tensor_slot[static_cast<std::size_t>(t)] < 0);
    if (dt >= 0) CHECK(p.slots.tensor_slot[static_cast<std::size_t>(dt)] < 0);
  }
  CHECK(p.stats.fused_away == 8);  // four sums and their four gradients
  const Plan unfused = plan_of(model.graph, PlanKind::Training, 4, false, sizeof(float));
  CHECK(p.arena_bytes <= unfused.arena_bytes);
  CHECK(p.stats.naive_bytes == unfused.stats.naive_bytes);
  CHECK(p.schedule.steps.size() + 8 == unfused.schedule.steps.size());

  SECTION("a kept sum is not fused") {
    const Model kept = fuse_graph(&GraphBuilder::tanh, 8, true, 1);
    PlanRequest r;
    r.kind = PlanKind::Inference;
    r.batch = 4;
    r.outputs = {"y", "z2"};
    const Plan q = make_plan(kept.graph, r);
    CHECK_FALSE(fused(q, "z2"));
    CHECK(fused(q, "z1"));
    CHECK(q.stats.fused_steps == 3);
  }
  SECTION("a sum with a second consumer is not fused") {
    GraphBuilder b;
    Value x = b.input("x", {4, 3});
    Value z = b.add_bias(x, b.parameter("bias", {3}, init::zeros()), "z");
    b.output(b.mse_loss(b.relu(z, "r"), z, "loss"));
    const Plan q = plan_of(b.graph(), PlanKind::Training, 4, true, sizeof(float));
    CHECK(q.stats.fused_steps == 0);
  }
  SECTION("an add_bias feeding an op without fused kernels is not fused") {
    GraphBuilder b;
    Value x = b.input("x", {4, 3});
    Value z = b.add_bias(x, b.parameter("bias", {3}, init::zeros()), "z");
    b.output(b.mse_loss(z, x, "loss"));
    const Plan q = plan_of(b.graph(), PlanKind::Training, 4, true, sizeof(float));
    CHECK(q.stats.fused_steps == 0);
  }
}

// ---- fuse on schedules built by hand --------------------------------------------------------

namespace {

// x[4,3] -> add_bias 'zb' (b[3]) -> z -> relu 'act' -> y -> mse_loss 'loss' (t[4,3]) -> L,
// scheduled as build_backward would, with dx accumulating (as if x had another consumer).
struct BiasRelu {
  testing::HandGraph h;
  int x, b, t, z, y, l;
  int zb, act, loss;
  BiasRelu(const char* activation = "relu") {
    x = h.value("x", ValueRole::Input, {4, 3});
    b = h.value("b", ValueRole::Parameter, {3});
    t = h.value("t", ValueRole::Input, {4, 3});
    z = h.value("z");
    y = h.value("y");
    l = h.value("L");
    zb = h.node("zb", "add_bias", {x, b}, {z});
    act = h.node("act", activation, {z}, {y});
    loss = h.node("loss", "mse_loss", {y, t}, {l});
  }
};

enum : int { X, B, Z, Y, T, L, DL, DY, DZ, DX, DB };

Schedule bias_relu_schedule(const BiasRelu& g) {
  Schedule s;
  s.mode = Mode::Train;
  s.tensors = {{"x", {4, 3}, g.x, TensorRole::Input},       {"b", {3}, g.b, TensorRole::Parameter},
               {"z", {4, 3}, g.z, TensorRole::Activation},  {"y", {4, 3}, g.y, TensorRole::Activation},
               {"t", {4, 3}, g.t, TensorRole::Input},       {"L", {}, g.l, TensorRole::Activation},
               {"grad:L", {}, g.l, TensorRole::Gradient},   {"grad:y", {4, 3}, g.y, TensorRole::Gradient},
               {"grad:z", {4, 3}, g.z, TensorRole::Gradient}, {"grad:x", {4, 3}, g.x, TensorRole::Gradient},
               {"grad:b", {3}, g.b, TensorRole::Gradient}};
  s.value_tensor = {X, B, T, Z, Y, L};
  s.grad_tensor = {DX, DB, -1, DZ, DY, DL};
  s.steps = {testing::forward_step(g.zb, {X, B}, {Z}),
             testing::forward_step(g.act, {Z}, {Y}),
             testing::forward_step(g.loss, {Y, T}, {L}),
             testing::fill_step(DL),
             testing::backward_step(g.loss, {Y, T}, {L}, {DL}, {DY, -1}),
             testing::backward_step(g.act, {Z}, {Y}, {DY}, {DZ}),
             testing::backward_step(g.zb, {X, B}, {Z}, {DZ}, {DX, DB}, {1, 0})};
  s.keep = {L, DX, DB};
  s.loss = L;
  return s;
}

}  // namespace

TEST_CASE("fuse merges add_bias and the activation after it, forward and backward", "[fuse]") {
  const BiasRelu g;
  const Schedule s = fuse(g.h.g, bias_relu_schedule(g));
  REQUIRE(s.steps.size() == 5);
  const Step& f = s.steps[0];
  CHECK(f.kind == StepKind::Forward);
  CHECK(f.node == g.act);  // the activation's after_bias kernels run
  CHECK(f.fused == g.zb);
  CHECK(f.in == std::vector<int>{X, B});  // add_bias's inputs
  CHECK(f.out == std::vector<int>{Y});
  CHECK(s.steps[1].node == g.loss);
  CHECK(s.steps[1].fused == -1);
  CHECK(s.steps[2].kind == StepKind::Fill);
  CHECK(s.steps[3].node == g.loss);
  const Step& bwd = s.steps[4];
  CHECK(bwd.kind == StepKind::Backward);
  CHECK(bwd.node == g.act);
  CHECK(bwd.fused == g.zb);
  CHECK(bwd.in == std::vector<int>{X, B});
  CHECK(bwd.out == std::vector<int>{Y});
  CHECK(bwd.d_out == std::vector<int>{DY});
  CHECK(bwd.d_in == std::vector<int>{DX, DB});  // add_bias's input gradients ...
  CHECK(bwd.accumulate == std::vector<char>{1, 0});  // ... with add_bias's flags
  // The rest of the schedule is as it was: only steps change.
  const Schedule before = bias_relu_schedule(g);
  CHECK(s.tensors.size() == before.tensors.size());
  CHECK(s.keep == before.keep);
  CHECK(in_op(g.h.g, f).name == "add_bias");
  CHECK(in_op(g.h.g, s.steps[1]).name == "mse_loss");
}

TEST_CASE("fuse leaves the pair alone when anything else needs the sum", "[fuse]") {
  BiasRelu g;
  Schedule s = bias_relu_schedule(g);
  SECTION("the sum is kept") {
    s.keep.push_back(Z);
    CHECK(fuse(g.h.g, s).steps.size() == 7);
  }
  SECTION("the sum's gradient is kept") {
    s.keep.push_back(DZ);
    CHECK(fuse(g.h.g, s).steps.size() == 7);
  }
  SECTION("another node of the graph reads the sum, scheduled or not") {
    const int other = g.h.value("other");
    g.h.node("tap", "relu", {g.z}, {other});
    CHECK(fuse(g.h.g, s).steps.size() == 7);
  }
  SECTION("a step between them: the forward pair stays apart, the backward pair still merges") {
    s.steps.insert(s.steps.begin() + 1, testing::fill_step(DL));
    const Schedule fused = fuse(g.h.g, s);
    REQUIRE(fused.steps.size() == 7);
    CHECK(fused.steps[0].fused == -1);
    CHECK(fused.steps[2].fused == -1);
    CHECK(fused.steps[6].fused == g.zb);
  }
  SECTION("a step with scratch memory") {
    s.steps[1].workspace = DL;
    s.steps[5].workspace = DL;
    CHECK(fuse(g.h.g, s).steps.size() == 7);
  }
  SECTION("the first op is no bias_add") {
    g.h.g.nodes[static_cast<std::size_t>(g.zb)].op = &find_op("add");
    CHECK(fuse(g.h.g, s).steps.size() == 7);
  }
}

TEST_CASE("fuse needs an activation with after_bias kernels", "[fuse]") {
  const BiasRelu with_normalize("normalize");
  CHECK(fuse(with_normalize.h.g, bias_relu_schedule(with_normalize)).steps.size() == 7);
  for (const char* act : {"relu", "sigmoid", "tanh"}) {
    INFO(act);
    const BiasRelu g(act);
    CHECK(fuse(g.h.g, bias_relu_schedule(g)).steps.size() == 5);
  }
}
