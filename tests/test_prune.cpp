// prune: only the nodes that the requested values depend on survive, each once, in the
// order toposort gave.
#include <algorithm>

#include <catch2/catch.hpp>

#include "planner/passes.hpp"
#include "planner/plan.hpp"
#include "tests/planner_by_hand.hpp"

using namespace plangrad;

namespace {

// x -> trunk (matmul) -> trunk_act (relu) = h
//   h -> head_a (relu)    -> out_a
//   h -> head_b (add h h) -> out_b
//   h -> tap (relu)       -> tapped      (reaches no output)
//   x -> dead -> dead2                   (reaches no output)
Graph branching_graph() {
  Graph g;
  g.values = {{"x", ValueKind::Input, {4, 3}}, {"w", ValueKind::Parameter, {3, 3}}};
  g.nodes = {{"dead2", "relu", {"d"}, {"d2"}, {}},
             {"head_b", "add", {"h", "h"}, {"out_b"}, {}},
             {"trunk", "matmul", {"x", "w"}, {"t"}, {}},
             {"tap", "relu", {"h"}, {"tapped"}, {}},
             {"trunk_act", "relu", {"t"}, {"h"}, {}},
             {"dead", "relu", {"x"}, {"d"}, {}},
             {"head_a", "relu", {"h"}, {"out_a"}, {}}};
  g.outputs = {"out_a", "out_b"};
  return g;
}

std::vector<std::string> names(const IndexedGraph& g, const std::vector<int>& nodes) {
  std::vector<std::string> out;
  for (int n : nodes) out.push_back(g.nodes[static_cast<std::size_t>(n)].name);
  return out;
}

std::vector<int> values(const IndexedGraph& g, std::initializer_list<const char*> list) {
  std::vector<int> out;
  for (const char* name : list) out.push_back(g.require_value(name, "root"));
  return out;
}

// `sub` is `full` with some elements left out.
bool is_subsequence(const std::vector<int>& sub, const std::vector<int>& full) {
  auto it = full.begin();
  for (int x : sub) {
    it = std::find(it, full.end(), x);
    if (it == full.end()) return false;
    ++it;
  }
  return true;
}

std::vector<std::string> forward_nodes(const Plan& plan) {
  std::vector<std::string> out;
  for (const Step& s : plan.schedule.steps)
    if (s.kind == StepKind::Forward) out.push_back(plan.graph.nodes[static_cast<std::size_t>(s.node)].name);
  return out;
}

}  // namespace

TEST_CASE("prune drops the nodes that do not reach the roots", "[prune]") {
  const IndexedGraph g = index_graph(branching_graph());
  const std::vector<int> order = toposort(g);
  REQUIRE(order.size() == 7);

  const std::vector<int> a = prune(g, order, values(g, {"out_a"}));
  CHECK(names(g, a) == std::vector<std::string>{"trunk", "trunk_act", "head_a"});
  CHECK(is_subsequence(a, order));

  const std::vector<int> trunk = prune(g, order, values(g, {"h"}));
  CHECK(names(g, trunk) == std::vector<std::string>{"trunk", "trunk_act"});

  // An input as the only root needs no node at all.
  CHECK(prune(g, order, values(g, {"x"})).empty());
  CHECK(prune(g, order, {}).empty());

  // Every node is needed when every leaf is a root.
  const std::vector<int> all = prune(g, order, values(g, {"out_a", "out_b", "tapped", "d2"}));
  CHECK(all == order);
}

TEST_CASE("prune keeps a shared trunk once", "[prune]") {
  const IndexedGraph g = index_graph(branching_graph());
  const std::vector<int> order = toposort(g);
  const std::vector<int> both = prune(g, order, values(g, {"out_a", "out_b"}));
  REQUIRE(both.size() == 4);
  CHECK(is_subsequence(both, order));
  std::vector<std::string> got = names(g, both);
  CHECK(std::count(got.begin(), got.end(), "trunk") == 1);
  CHECK(std::count(got.begin(), got.end(), "trunk_act") == 1);
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"head_a", "head_b", "trunk", "trunk_act"});
  // A root named twice, or a root and a value on its way, changes nothing.
  CHECK(prune(g, order, values(g, {"out_a", "out_b", "out_a", "h"})) == both);
}

TEST_CASE("an inference plan runs only the nodes its outputs need", "[prune]") {
  PlanRequest request;
  request.outputs = {"out_a"};
  const Plan one = make_plan(branching_graph(), request);
  CHECK(forward_nodes(one) == std::vector<std::string>{"trunk", "trunk_act", "head_a"});
  // Pruned values get no tensor.
  CHECK(one.tensor_of_value("out_b") == -1);
  CHECK(one.tensor_of_value("d") == -1);
  CHECK(one.tensor_of_value("out_a") >= 0);

  request.outputs = {};  // the graph's outputs: out_a and out_b
  const Plan both = make_plan(branching_graph(), request);
  std::vector<std::string> got = forward_nodes(both);
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"head_a", "head_b", "trunk", "trunk_act"});
}

TEST_CASE("prune on a graph built by hand: a node stays when any of its outputs is needed", "[prune]") {
  // x -> test_split 'sp' -> a, b;  a -> relu 'ra' -> c;  b -> relu 'rb' -> d
  testing::register_test_ops();
  testing::HandGraph h;
  const int x = h.value("x", ValueRole::Input, {2, 2});
  const int a = h.value("a"), b = h.value("b"), c = h.value("c"), d = h.value("d");
  const int sp = h.node("sp", "test_split", {x}, {a, b});
  const int ra = h.node("ra", "relu", {a}, {c});
  const int rb = h.node("rb", "relu", {b}, {d});
  const std::vector<int> order = {sp, rb, ra};
  CHECK(prune(h.g, order, {d}) == std::vector<int>{sp, rb});
  CHECK(prune(h.g, order, {c}) == std::vector<int>{sp, ra});
  CHECK(prune(h.g, order, {b}) == std::vector<int>{sp});
  CHECK(prune(h.g, order, {c, d}) == order);  // in the order given
  CHECK(prune(h.g, {ra}, {c}) == std::vector<int>{ra});  // only nodes of the order
}
