// build_backward: the backward schedule of a fan-out DAG. A gradient's first contribution
// overwrites and the rest accumulate; only values that need a gradient get one; updates
// follow each parameter's last contribution.
#include <algorithm>
#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "engine/builder.hpp"
#include "core/errors.hpp"
#include "planner/plan.hpp"
#include "tests/planner_by_hand.hpp"

using namespace plangrad;
using Catch::Matchers::Contains;

namespace {

// x[4,3] -> relu "xr"                    (depends on the input alone)
//   xr -> dense 5 "fc1" -> relu "h"
//   h -> tanh "a";  h -> sigmoid "s";  a + s -> "m";  m + h -> "r"   (h fans out 3 ways)
//   r -> dense 3 "head" -> softmax_cross_entropy(labels[4]) "loss"
Graph fan_out_graph() {
  GraphBuilder b;
  Value x = b.input("x", {4, 3});
  Value labels = b.input("labels", {4});
  Value xr = b.relu(x, "xr");
  Value h = b.relu(b.dense(xr, 5, "fc1"), "h");
  Value m = b.add(b.tanh(h, "a"), b.sigmoid(h, "s"), "m");
  Value r = b.add(m, h, "r");
  Value logits = b.dense(r, 3, "head");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  return b.graph();
}

Plan plan_of(PlanKind kind, std::vector<std::string> input_gradients = {}, std::string loss = "") {
  PlanRequest request;
  request.kind = kind;
  request.input_gradients = std::move(input_gradients);
  request.loss = std::move(loss);
  request.fuse = false;  // build_backward's own steps, one per node (fusion: test_fuse.cpp)
  return make_plan(fan_out_graph(), request);
}

const std::string& value_name(const Plan& p, int tensor) {
  return p.graph.values[static_cast<std::size_t>(p.schedule.tensors[static_cast<std::size_t>(tensor)].value)].name;
}

std::set<std::string> values_with_gradients(const Plan& p) {
  std::set<std::string> out;
  for (std::size_t v = 0; v < p.graph.values.size(); ++v)
    if (p.schedule.grad_tensor[v] >= 0) out.insert(p.graph.values[v].name);
  return out;
}

// Step indices of the backward steps that write a gradient tensor, with their accumulate flag.
std::vector<std::pair<std::size_t, bool>> writers(const Plan& p, int grad) {
  std::vector<std::pair<std::size_t, bool>> out;
  for (std::size_t i = 0; i < p.schedule.steps.size(); ++i) {
    const Step& s = p.schedule.steps[i];
    if (s.kind != StepKind::Backward) continue;
    for (std::size_t k = 0; k < s.d_in.size(); ++k)
      if (s.d_in[k] == grad) out.push_back({i, s.accumulate[k] != 0});
  }
  return out;
}

std::size_t step_of(const Plan& p, StepKind kind, const std::string& node) {
  for (std::size_t i = 0; i < p.schedule.steps.size(); ++i) {
    const Step& s = p.schedule.steps[i];
    if (s.kind == kind && s.node >= 0 && p.graph.nodes[static_cast<std::size_t>(s.node)].name == node) return i;
  }
  return SIZE_MAX;
}

// Properties every gradient schedule must have, checked tensor by tensor:
//  - the loss gradient is filled with 1 once, before any backward step;
//  - every other gradient is written first with overwrite, then only with accumulate, once
//    per differentiable use of its value by a scheduled node;
//  - a backward step reads an output gradient only after its last contribution.
void check_gradient_flow(const Plan& p) {
  const Schedule& s = p.schedule;
  std::size_t first_backward = SIZE_MAX;
  for (std::size_t i = 0; i < s.steps.size(); ++i)
    if (s.steps[i].kind != StepKind::Forward) {
      first_backward = i;
      break;
    }
  REQUIRE(first_backward < s.steps.size());
  const Step& fill = s.steps[first_backward];
  REQUIRE(fill.kind == StepKind::Fill);
  CHECK(fill.fill_value == 1.0);
  CHECK(fill.target == s.grad_tensor[static_cast<std::size_t>(s.tensors[static_cast<std::size_t>(s.loss)].value)]);

  std::vector<int> scheduled;
  for (const Step& st : s.steps)
    if (st.kind == StepKind::Forward) scheduled.push_back(st.node);

  for (std::size_t v = 0; v < p.graph.values.size(); ++v) {
    const int grad = s.grad_tensor[v];
    if (grad < 0 || grad == fill.target) continue;
    INFO("gradient of " << p.graph.values[v].name);
    std::size_t uses = 0;
    for (int n : scheduled) {
      const NodeInfo& node = p.graph.nodes[static_cast<std::size_t>(n)];
      const std::vector<int>& inputs = node.inputs;
      for (std::size_t k = 0; k < inputs.size(); ++k)
        if (inputs[k] == static_cast<int>(v) && node.op->differentiable[k]) ++uses;
    }
    const auto w = writers(p, grad);
    REQUIRE(w.size() == uses);
    REQUIRE(!w.empty());
    CHECK_FALSE(w.front().second);
    for (std::size_t k = 1; k < w.size(); ++k) CHECK(w[k].second);
    // Readers come after the last writer.
    for (std::size_t i = 0; i < s.steps.size(); ++i) {
      const Step& st = s.steps[i];
      const bool reads = std::find(st.d_out.begin(), st.d_out.end(), grad) != st.d_out.end() ||
                         (st.kind == StepKind::Update && st.grad == grad);
      if (reads) CHECK(i > w.back().first);
    }
  }
}

}  // namespace

TEST_CASE("the value that fans out gets one overwrite, then accumulations", "[backward]") {
  const Plan p = plan_of(PlanKind::Gradients);
  check_gradient_flow(p);

  const int gh = p.tensor_of_grad("h");
  REQUIRE(gh >= 0);
  const auto w = writers(p, gh);
  REQUIRE(w.size() == 3);  // from tanh 'a', sigmoid 's' and add 'r'
  CHECK_FALSE(w[0].second);
  CHECK(w[1].second);
  CHECK(w[2].second);
  std::set<std::string> from;
  for (const auto& [step, acc] : w) from.insert(p.graph.nodes[static_cast<std::size_t>(p.schedule.steps[step].node)].name);
  CHECK(from == std::set<std::string>{"a", "s", "r"});
  // relu 'h' reads grad:h only once it is complete.
  CHECK(step_of(p, StepKind::Backward, "h") > w.back().first);
}

TEST_CASE("only values that need a gradient get one", "[backward]") {
  SECTION("by default: parameters and what lies between them and the loss") {
    const Plan p = plan_of(PlanKind::Gradients);
    CHECK(values_with_gradients(p) ==
          std::set<std::string>{"loss", "head", "head.matmul", "head.weight", "head.bias", "r", "m", "a", "s",
                                "h", "fc1", "fc1.matmul", "fc1.weight", "fc1.bias"});
    // xr depends on the input alone: no gradient, and relu 'xr' has no backward step.
    CHECK(p.tensor_of_grad("x") == -1);
    CHECK(p.tensor_of_grad("xr") == -1);
    CHECK(step_of(p, StepKind::Backward, "xr") == SIZE_MAX);
    CHECK(step_of(p, StepKind::Forward, "xr") != SIZE_MAX);
    // fc1's matmul still runs backward, but writes no gradient for xr.
    const Step& mm = p.schedule.steps[step_of(p, StepKind::Backward, "fc1.matmul")];
    CHECK(mm.d_in[0] == -1);
    CHECK(mm.d_in[1] == p.tensor_of_grad("fc1.weight"));
    // Parameter gradients are readable after the run.
    for (const char* name : {"fc1.weight", "fc1.bias", "head.weight", "head.bias"}) {
      INFO(name);
      REQUIRE(p.tensor_of_grad(name) >= 0);
      CHECK(p.kept(p.tensor_of_grad(name)));
    }
    CHECK_FALSE(p.kept(p.tensor_of_grad("h")));
  }
  SECTION("an input gets one when requested") {
    const Plan p = plan_of(PlanKind::Gradients, {"x"});
    check_gradient_flow(p);
    REQUIRE(p.tensor_of_grad("x") >= 0);
    REQUIRE(p.tensor_of_grad("xr") >= 0);
    CHECK(p.kept(p.tensor_of_grad("x")));
    CHECK(step_of(p, StepKind::Backward, "xr") != SIZE_MAX);
    CHECK(p.tensor_of_grad("labels") == -1);
  }
  SECTION("labels of softmax_cross_entropy get none") {
    const Plan p = plan_of(PlanKind::Gradients, {"x"});
    CHECK(p.tensor_of_grad("labels") == -1);
    const Step& ce = p.schedule.steps[step_of(p, StepKind::Backward, "loss")];
    REQUIRE(ce.d_in.size() == 2);
    CHECK(ce.d_in[0] == p.tensor_of_grad("head"));
    CHECK(ce.d_in[1] == -1);
    // Asking for it is an error naming the input.
    REQUIRE_THROWS_AS(plan_of(PlanKind::Gradients, {"labels"}), GraphError);
    REQUIRE_THROWS_WITH(plan_of(PlanKind::Gradients, {"labels"}), Contains("'labels'"));
  }
}

TEST_CASE("updates come right after each parameter's last gradient contribution", "[backward]") {
  const Plan p = plan_of(PlanKind::Training);
  check_gradient_flow(p);
  const Schedule& s = p.schedule;
  std::map<std::string, std::size_t> update_at;
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    if (s.steps[i].kind != StepKind::Update) continue;
    const std::string& name = value_name(p, s.steps[i].target);
    CHECK(s.steps[i].grad == p.tensor_of_grad(name));
    CHECK(s.tensors[static_cast<std::size_t>(s.steps[i].target)].role == TensorRole::Parameter);
    REQUIRE(update_at.emplace(name, i).second);  // one update per parameter
  }
  CHECK(update_at.size() == 4);
  for (const char* name : {"fc1.weight", "fc1.bias", "head.weight", "head.bias"}) {
    INFO(name);
    REQUIRE(update_at.count(name));
    const int grad = p.tensor_of_grad(name);
    const auto w = writers(p, grad);
    REQUIRE(!w.empty());
    const std::size_t last = w.back().first, at = update_at[name];
    REQUIRE(at > last);
    for (std::size_t i = last + 1; i < at; ++i) CHECK(s.steps[i].kind == StepKind::Update);
    // Training plans do not keep gradients: each dies at its update.
    CHECK_FALSE(p.kept(grad));
    CHECK(p.live[static_cast<std::size_t>(grad)].last == static_cast<int>(at));
  }
  // head's parameters are complete long before fc1's, and are updated then.
  CHECK(update_at["head.weight"] < update_at["fc1.weight"]);
  // A gradients plan has no updates.
  const Plan g = plan_of(PlanKind::Gradients);
  for (const Step& st : g.schedule.steps) CHECK(st.kind != StepKind::Update);
}

TEST_CASE("the loss must be a scalar", "[backward]") {
  // build_backward reports this as a ShapeError (it is about a shape), naming the value.
  REQUIRE_THROWS_AS(plan_of(PlanKind::Gradients, {}, "head"), ShapeError);
  REQUIRE_THROWS_WITH(plan_of(PlanKind::Gradients, {}, "head"), Contains("'head'") && Contains("scalar") &&
                                                                    Contains("[4, 3]"));
  REQUIRE_THROWS_AS(plan_of(PlanKind::Training, {}, "r"), ShapeError);
}

TEST_CASE("a loss that depends on nothing trainable is a GraphError", "[backward]") {
  GraphBuilder b;
  Value x = b.input("x", {4, 2});
  Value t = b.input("t", {4, 2});
  b.output(b.mse_loss(b.relu(x, "act"), t, "loss"));
  PlanRequest request;
  request.kind = PlanKind::Gradients;
  REQUIRE_THROWS_AS(make_plan(b.graph(), request), GraphError);
  REQUIRE_THROWS_WITH(make_plan(b.graph(), request), Contains("'loss'"));
  // With the input's gradient requested there is something to differentiate.
  request.input_gradients = {"x"};
  const Plan p = make_plan(b.graph(), request);
  CHECK(p.tensor_of_grad("x") >= 0);
  CHECK(p.tensor_of_grad("t") == -1);
}

TEST_CASE("a node without a gradient rule is a GraphError naming op and node", "[backward]") {
  static const bool registered = [] {
    OpDef d;
    d.name = "test_no_gradient_copy";
    d.inputs = {"x"};
    d.outputs = {"y"};
    d.shape = [](const std::vector<Shape>& in, const Attrs&) { return std::vector<Shape>{in[0]}; };
    d.differentiable = {true};
    d.backward_reads_in = {false};
    d.backward_reads_out = {false};
    d.f32.forward = [](const OpArgs<float>& a) { std::copy(a.in[0].begin(), a.in[0].end(), a.out[0].data); };
    d.f64.forward = [](const OpArgs<double>& a) { std::copy(a.in[0].begin(), a.in[0].end(), a.out[0].data); };
    register_op(std::move(d));
    return true;
  }();
  REQUIRE(registered);
  GraphBuilder b;
  Value x = b.input("x", {4, 2});
  Value t = b.input("t", {4, 2});
  Value y = b.op("test_no_gradient_copy", {b.dense(x, 2, "fc")}, {}, "opaque");
  b.output(b.mse_loss(y, t, "loss"));
  PlanRequest request;
  request.kind = PlanKind::Gradients;
  REQUIRE_THROWS_AS(make_plan(b.graph(), request), GraphError);
  REQUIRE_THROWS_WITH(make_plan(b.graph(), request), Contains("test_no_gradient_copy") && Contains("'opaque'"));
  // Inference does not need the rule.
  request.kind = PlanKind::Inference;
  request.outputs = {"opaque"};
  CHECK_NOTHROW(make_plan(b.graph(), request));
}

// ---- build_backward on forward schedules built by hand -------------------------------------

namespace {

// x[4,3] -> matmul 'mm' (w[3,2]) -> y -> relu 'act' -> z;  z + y -> add 'res' -> s (y fans out)
//   -> mse_loss 'loss' (t[4,2]) -> L
struct Residual {
  testing::HandGraph h;
  int x, w, t, y, z, s, l;
  int mm, act, res, loss;
  Residual() {
    x = h.value("x", ValueRole::Input, {4, 3});
    w = h.value("w", ValueRole::Parameter, {3, 2});
    t = h.value("t", ValueRole::Input, {4, 2});
    y = h.value("y");
    z = h.value("z");
    s = h.value("s");
    l = h.value("L");
    mm = h.node("mm", "matmul", {x, w}, {y});
    act = h.node("act", "relu", {y}, {z});
    res = h.node("res", "add", {z, y}, {s});
    loss = h.node("loss", "mse_loss", {s, t}, {l});
  }
  // Tensors in the order build_forward makes them: x w y z s t L.
  Schedule forward() const {
    Schedule f;
    f.mode = Mode::Train;
    f.tensors = {{"x", {4, 3}, x, TensorRole::Input},      {"w", {3, 2}, w, TensorRole::Parameter},
                 {"y", {4, 2}, y, TensorRole::Activation}, {"z", {4, 2}, z, TensorRole::Activation},
                 {"s", {4, 2}, s, TensorRole::Activation}, {"t", {4, 2}, t, TensorRole::Input},
                 {"L", {}, l, TensorRole::Activation}};
    f.value_tensor = {0, 1, 5, 2, 3, 4, 6};  // by value: x w t y z s L
    f.grad_tensor.assign(7, -1);
    f.steps = {testing::forward_step(mm, {0, 1}, {2}), testing::forward_step(act, {2}, {3}),
               testing::forward_step(res, {3, 2}, {4}), testing::forward_step(loss, {4, 5}, {6})};
    return f;
  }
};

std::vector<std::string> tensor_names(const Schedule& s, const std::vector<int>& ids) {
  std::vector<std::string> out;
  for (int t : ids) out.push_back(t < 0 ? "-" : s.tensors[static_cast<std::size_t>(t)].name);
  return out;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("build_backward: the seed, a backward step per node in reverse, an update after the last contribution",
          "[backward]") {
  const Residual r;
  BackwardRequest req;
  req.loss = r.l;
  req.update = true;
  req.keep_gradients = false;
  const Schedule s = build_backward(r.h.g, r.forward(), req);
  REQUIRE(s.steps.size() == 10);
  const Step& fill = s.steps[4];
  CHECK(fill.kind == StepKind::Fill);
  CHECK(fill.fill_value == 1.0f);
  CHECK(tensor_names(s, {fill.target}) == Names{"grad:L"});

  const int order[4] = {r.loss, r.res, r.act, r.mm};
  for (std::size_t k = 0; k < 4; ++k) {
    const Step& b = s.steps[5 + k];
    INFO("step " << 5 + k);
    CHECK(b.kind == StepKind::Backward);
    CHECK(b.node == order[k]);
    // A backward step reads its forward step's tensors.
    const Step& f = s.steps[3 - k];
    CHECK(b.in == f.in);
    CHECK(b.out == f.out);
    CHECK(b.accumulate.size() == b.d_in.size());
  }
  CHECK(tensor_names(s, s.steps[5].d_out) == Names{"grad:L"});
  CHECK(tensor_names(s, s.steps[5].d_in) == Names{"grad:s", "-"});  // t wants no gradient
  CHECK(tensor_names(s, s.steps[6].d_in) == Names{"grad:z", "grad:y"});
  CHECK(tensor_names(s, s.steps[7].d_in) == Names{"grad:y"});
  CHECK(tensor_names(s, s.steps[8].d_in) == Names{"-", "grad:w"});  // x wants no gradient
  // y fans out: the add's contribution overwrites grad:y, the relu's adds to it.
  CHECK(s.steps[6].accumulate == std::vector<char>{0, 0});
  CHECK(s.steps[7].accumulate == std::vector<char>{1});
  CHECK(s.steps[8].accumulate == std::vector<char>{0, 0});

  const Step& update = s.steps[9];
  CHECK(update.kind == StepKind::Update);
  CHECK(tensor_names(s, {update.target, update.grad}) == Names{"w", "grad:w"});
  // Gradients of values only: the same shapes, role Gradient.
  for (const char* name : {"grad:L", "grad:s", "grad:z", "grad:y", "grad:w"}) {
    INFO(name);
    const auto it = std::find_if(s.tensors.begin(), s.tensors.end(), [&](const TensorInfo& t) { return t.name == name; });
    REQUIRE(it != s.tensors.end());
    CHECK(it->role == TensorRole::Gradient);
    CHECK(it->shape == s.tensors[static_cast<std::size_t>(s.value_tensor[static_cast<std::size_t>(it->value)])].shape);
    CHECK(s.grad_tensor[static_cast<std::size_t>(it->value)] == it - s.tensors.begin());
  }
  CHECK(s.grad_tensor[static_cast<std::size_t>(r.x)] == -1);
  CHECK(s.grad_tensor[static_cast<std::size_t>(r.t)] == -1);
  CHECK(s.loss == 6);
  CHECK(s.keep == std::vector<int>{6});  // the loss; training plans keep no gradient
}

TEST_CASE("build_backward: requested input gradients, kept gradients, no updates", "[backward]") {
  const Residual r;
  BackwardRequest req;
  req.loss = r.l;
  req.inputs = {r.x};
  const Schedule s = build_backward(r.h.g, r.forward(), req);
  REQUIRE(s.steps.size() == 9);
  for (const Step& st : s.steps) CHECK(st.kind != StepKind::Update);
  CHECK(tensor_names(s, s.steps.back().d_in) == Names{"grad:x", "grad:w"});
  // Parameter and input gradients by value index, then the loss.
  CHECK(tensor_names(s, s.keep) == Names{"grad:x", "grad:w", "L"});

  SECTION("without parameters, only what leads to the input") {
    req.parameters = false;
    const Schedule only_x = build_backward(r.h.g, r.forward(), req);
    CHECK(only_x.grad_tensor[static_cast<std::size_t>(r.w)] == -1);
    CHECK(tensor_names(only_x, only_x.steps.back().d_in) == Names{"grad:x", "-"});
    CHECK(tensor_names(only_x, only_x.keep) == Names{"grad:x", "L"});
  }
}

TEST_CASE("build_backward: an output without a gradient gets none in d_out", "[backward]") {
  testing::register_test_ops();
  testing::HandGraph h;
  const int x = h.value("x", ValueRole::Input, {2, 2}), t = h.value("t", ValueRole::Input, {2, 2});
  const int a = h.value("a"), b = h.value("b"), l = h.value("L");
  const int split = h.node("split", "test_split", {x}, {a, b});
  const int loss = h.node("loss", "mse_loss", {a, t}, {l});
  Schedule f;
  f.tensors = {{"x", {2, 2}, x, TensorRole::Input}, {"a", {2, 2}, a, TensorRole::Activation},
               {"b", {2, 2}, b, TensorRole::Activation}, {"t", {2, 2}, t, TensorRole::Input},
               {"L", {}, l, TensorRole::Activation}};
  f.value_tensor = {0, 3, 1, 2, 4};
  f.grad_tensor.assign(5, -1);
  f.steps = {testing::forward_step(split, {0}, {1, 2}), testing::forward_step(loss, {1, 3}, {4})};
  BackwardRequest req;
  req.loss = l;
  req.inputs = {x};
  const Schedule s = build_backward(h.g, f, req);
  REQUIRE(s.steps.size() == 5);
  CHECK(tensor_names(s, s.steps[4].d_out) == Names{"grad:a", "-"});
  CHECK(tensor_names(s, s.steps[4].d_in) == Names{"grad:x"});
  CHECK(s.grad_tensor[static_cast<std::size_t>(b)] == -1);
}

TEST_CASE("build_backward: what it refuses", "[backward]") {
  const Residual r;
  BackwardRequest req;
  req.loss = r.z;  // [4, 2]
  REQUIRE_THROWS_AS(build_backward(r.h.g, r.forward(), req), ShapeError);
  REQUIRE_THROWS_WITH(build_backward(r.h.g, r.forward(), req), Contains("'z'") && Contains("[4, 2]"));
  req.loss = r.l;
  req.parameters = false;
  REQUIRE_THROWS_WITH(build_backward(r.h.g, r.forward(), req), Contains("'L' depends on nothing"));
  // An input the loss does not depend on.
  Residual more;
  const int u = more.h.value("u", ValueRole::Input, {4, 2});
  Schedule f = more.forward();
  f.value_tensor.push_back(-1);
  f.grad_tensor.push_back(-1);
  req.parameters = true;
  req.inputs = {u};
  REQUIRE_THROWS_WITH(build_backward(more.h.g, f, req), Contains("does not depend on input 'u'"));
}

TEST_CASE("build_backward: a parameter used twice is updated after its second contribution", "[backward]") {
  // x[2,2] -> matmul 'm1' (w) -> h -> matmul 'm2' (w) -> y -> mse_loss (t) -> L
  testing::HandGraph h;
  const int x = h.value("x", ValueRole::Input, {2, 2}), w = h.value("w", ValueRole::Parameter, {2, 2});
  const int t = h.value("t", ValueRole::Input, {2, 2});
  const int hv = h.value("h"), y = h.value("y"), l = h.value("L");
  const int m1 = h.node("m1", "matmul", {x, w}, {hv});
  const int m2 = h.node("m2", "matmul", {hv, w}, {y});
  const int loss = h.node("loss", "mse_loss", {y, t}, {l});
  Schedule f;
  f.tensors = {{"x", {2, 2}, x, TensorRole::Input},      {"w", {2, 2}, w, TensorRole::Parameter},
               {"h", {2, 2}, hv, TensorRole::Activation}, {"y", {2, 2}, y, TensorRole::Activation},
               {"t", {2, 2}, t, TensorRole::Input},       {"L", {}, l, TensorRole::Activation}};
  f.value_tensor = {0, 1, 4, 2, 3, 5};
  f.grad_tensor.assign(6, -1);
  f.steps = {testing::forward_step(m1, {0, 1}, {2}), testing::forward_step(m2, {2, 1}, {3}),
             testing::forward_step(loss, {3, 4}, {5})};
  BackwardRequest req;
  req.loss = l;
  req.update = true;
  const Schedule s = build_backward(h.g, f, req);
  // 3 forward, fill, loss, m2 (writes grad:w), m1 (adds to it), then the update.
  REQUIRE(s.steps.size() == 8);
  CHECK(s.steps[5].node == m2);
  CHECK(s.steps[5].accumulate == std::vector<char>{0, 0});
  CHECK(s.steps[6].node == m1);
  CHECK(s.steps[6].accumulate == std::vector<char>{0, 1});
  CHECK(s.steps[7].kind == StepKind::Update);
  for (const Step& st : s.steps) CHECK((st.kind != StepKind::Update || &st == &s.steps[7]));
}

TEST_CASE("build_backward: no gradient through a non-differentiable input", "[backward]") {
  // p[4,3] -> softmax_cross_entropy 'ce' with labels x[4]; x -> mse_loss 'mse' (t[4]);
  // the two losses added: x has a gradient (through mse), but ce's labels slot passes none.
  testing::HandGraph h;
  const int p = h.value("p", ValueRole::Parameter, {4, 3}), x = h.value("x", ValueRole::Input, {4});
  const int t = h.value("t", ValueRole::Input, {4});
  const int l1 = h.value("l1"), l2 = h.value("l2"), l = h.value("L");
  const int ce = h.node("ce", "softmax_cross_entropy", {p, x}, {l1});
  const int mse = h.node("mse", "mse_loss", {x, t}, {l2});
  const int sum = h.node("sum", "add", {l1, l2}, {l});
  Schedule f;
  f.tensors = {{"p", {4, 3}, p, TensorRole::Parameter}, {"x", {4}, x, TensorRole::Input},
               {"l1", {}, l1, TensorRole::Activation},  {"t", {4}, t, TensorRole::Input},
               {"l2", {}, l2, TensorRole::Activation},  {"L", {}, l, TensorRole::Activation}};
  f.value_tensor = {0, 1, 3, 2, 4, 5};
  f.grad_tensor.assign(6, -1);
  f.steps = {testing::forward_step(ce, {0, 1}, {2}), testing::forward_step(mse, {1, 3}, {4}),
             testing::forward_step(sum, {2, 4}, {5})};
  BackwardRequest req;
  req.loss = l;
  req.inputs = {x};
  const Schedule s = build_backward(h.g, f, req);
  REQUIRE(s.steps.size() == 7);
  CHECK(s.steps[5].node == mse);
  CHECK(tensor_names(s, s.steps[5].d_in) == Names{"grad:x", "-"});
  CHECK(s.steps[6].node == ce);
  CHECK(tensor_names(s, s.steps[6].d_in) == Names{"grad:p", "-"});
}
