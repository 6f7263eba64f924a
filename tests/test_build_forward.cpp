// build_forward on a graph built by hand: a Forward step per node of the order, a tensor per
// value where a step first touches it (shape from the shapes given, role from the value),
// Workspace and Saved tensors sized by the op, and the kept values.
#include <catch2/catch.hpp>

#include "planner/schedule.hpp"
#include "tests/planner_by_hand.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

// x[N,3] -> matmul 'mm' (w[3,3]) -> y -> test_scratch 'scr' -> s -> test_split 'split' -> a, b
//   -> add 'sum' -> z;  x -> relu 'dead' -> d (not in the order);  u: an input no node reads
struct Graph1 {
  HandGraph h;
  int x, w, u, y, s, a, b, z, d;
  int mm, scr, split, sum, dead;
  Graph1() {
    register_test_ops();
    x = h.value("x", ValueRole::Input, {kBatchDim, 3});
    w = h.value("w", ValueRole::Parameter, {3, 3});
    u = h.value("u", ValueRole::Input, {2});
    y = h.value("y");
    s = h.value("s");
    a = h.value("a");
    b = h.value("b");
    z = h.value("z");
    d = h.value("d");
    dead = h.node("dead", "relu", {x}, {d});
    mm = h.node("mm", "matmul", {x, w}, {y});
    scr = h.node("scr", "test_scratch", {y}, {s});
    split = h.node("split", "test_split", {s}, {a, b});
    sum = h.node("sum", "add", {a, b}, {z});
  }
  // Shapes at batch 5; s's is not what test_scratch's rule would give, so that the
  // workspace shows which shapes sized it (the step's inputs').
  std::vector<Shape> shapes() const {
    std::vector<Shape> out(h.g.values.size());
    out[static_cast<std::size_t>(x)] = {5, 3};
    out[static_cast<std::size_t>(w)] = {3, 3};
    out[static_cast<std::size_t>(u)] = {2};
    for (int v : {y, a, b, z}) out[static_cast<std::size_t>(v)] = {5, 3};
    out[static_cast<std::size_t>(s)] = {5, 4};
    return out;
  }
  std::vector<int> order() const { return {mm, scr, split, sum}; }
};

std::vector<std::string> names(const Schedule& s) {
  std::vector<std::string> out;
  for (const TensorInfo& t : s.tensors) out.push_back(t.name);
  return out;
}

}  // namespace

TEST_CASE("build_forward: a step per node, a tensor per value in the order steps touch them",
          "[build_forward]") {
  const Graph1 g;
  const Schedule s = build_forward(g.h.g, g.order(), g.shapes(), Mode::Train, {g.z});
  CHECK(s.mode == Mode::Train);
  CHECK(names(s) == std::vector<std::string>{"x", "w", "y", "s", "ws:scr:fwd", "saved:scr", "a", "b", "z"});
  REQUIRE(s.steps.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    INFO("step " << i);
    CHECK(s.steps[i].kind == StepKind::Forward);
    CHECK(s.steps[i].node == g.order()[i]);
    CHECK(s.steps[i].fused == -1);
    CHECK(s.steps[i].d_in.empty());
  }
  CHECK(s.steps[0].in == std::vector<int>{0, 1});
  CHECK(s.steps[0].out == std::vector<int>{2});
  CHECK(s.steps[1].in == std::vector<int>{2});
  CHECK(s.steps[1].out == std::vector<int>{3});
  CHECK(s.steps[2].out == std::vector<int>{6, 7});
  CHECK(s.steps[3].in == std::vector<int>{6, 7});
  CHECK(s.steps[3].out == std::vector<int>{8});
  CHECK(s.keep == std::vector<int>{8});
  CHECK(s.loss == -1);
}

TEST_CASE("build_forward: tensors take their shapes, roles and values", "[build_forward]") {
  const Graph1 g;
  const Schedule s = build_forward(g.h.g, g.order(), g.shapes(), Mode::Eval, {g.z});
  // The shape given, not the declared one: the batch is bound.
  CHECK(s.tensors[0].shape == Shape{5, 3});
  CHECK(s.tensors[0].role == TensorRole::Input);
  CHECK(s.tensors[1].role == TensorRole::Parameter);
  CHECK(s.tensors[1].external());
  CHECK(s.tensors[2].role == TensorRole::Activation);
  CHECK_FALSE(s.tensors[2].external());
  CHECK(s.tensors[8].shape == Shape{5, 3});
  for (int t : {0, 1, 2, 3, 6, 7, 8}) CHECK(s.value_tensor[static_cast<std::size_t>(s.tensors[static_cast<std::size_t>(t)].value)] == t);
  // Values outside the order, and values no step touches, have no tensor; nothing has a gradient.
  CHECK(s.value_tensor[static_cast<std::size_t>(g.d)] == -1);
  CHECK(s.value_tensor[static_cast<std::size_t>(g.u)] == -1);
  CHECK(s.grad_tensor == std::vector<int>(g.h.g.values.size(), -1));
}

TEST_CASE("build_forward: Workspace and Saved tensors as the op sizes them", "[build_forward]") {
  const Graph1 g;
  const Schedule s = build_forward(g.h.g, g.order(), g.shapes(), Mode::Train, {});
  const Step& scr = s.steps[1];
  REQUIRE(scr.workspace == 4);
  REQUIRE(scr.saved == 5);
  CHECK(s.tensors[4].role == TensorRole::Workspace);
  CHECK(s.tensors[4].shape == Shape{30});  // 2 * |y| = 2 * 15
  CHECK(s.tensors[4].value == -1);
  CHECK(s.tensors[5].role == TensorRole::Saved);
  CHECK(s.tensors[5].shape == Shape{3});
  for (std::size_t i : {0, 2, 3}) {
    CHECK(s.steps[i].workspace == -1);
    CHECK(s.steps[i].saved == -1);
  }
}

TEST_CASE("build_forward: kept values, once each, with a tensor even when no step touches them",
          "[build_forward]") {
  const Graph1 g;
  const Schedule s = build_forward(g.h.g, g.order(), g.shapes(), Mode::Eval, {g.z, g.y, g.z, g.u});
  REQUIRE(s.tensors.size() == 10);
  CHECK(s.tensors[9].name == "u");
  CHECK(s.tensors[9].shape == Shape{2});
  CHECK(s.keep == std::vector<int>{8, 2, 9});
}

TEST_CASE("build_forward: the order decides the steps and the numbering", "[build_forward]") {
  const Graph1 g;
  // Only the dead branch: x, then d.
  const Schedule s = build_forward(g.h.g, {g.dead}, g.shapes(), Mode::Eval, {});
  CHECK(names(s) == std::vector<std::string>{"x", "d"});
  REQUIRE(s.steps.size() == 1);
  CHECK(s.steps[0].node == g.dead);
  CHECK(build_forward(g.h.g, {}, g.shapes(), Mode::Eval, {}).steps.empty());
}
