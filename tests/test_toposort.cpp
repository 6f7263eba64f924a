// toposort: the execution order respects every edge, whatever order the file lists the
// nodes in; a cycle is a GraphError naming exactly the nodes on it.
#include <algorithm>
#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "core/errors.hpp"
#include "core/random.hpp"
#include "planner/passes.hpp"
#include "tests/planner_by_hand.hpp"

using namespace plangrad;
using Catch::Matchers::Contains;

namespace {

std::string cycle_message(const Graph& g) {
  const IndexedGraph ig = index_graph(g);  // a cycle is legal for index_graph
  try {
    toposort(ig);
  } catch (const GraphError& e) {
    return e.what();
  }
  FAIL("toposort accepted a graph with a cycle");
  return {};
}

// Checks `order` against the Graph itself (not the IndexedGraph that toposort read): every
// node once, and every producer before each of its consumers. Returns the edge count.
std::size_t check_order(const Graph& g, const IndexedGraph& ig, const std::vector<int>& order) {
  REQUIRE(order.size() == g.nodes.size());
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < order.size(); ++i) {
    REQUIRE(order[i] >= 0);
    REQUIRE(static_cast<std::size_t>(order[i]) < ig.nodes.size());
    const std::string& name = ig.nodes[static_cast<std::size_t>(order[i])].name;
    REQUIRE(position.emplace(name, i).second);  // each node once
  }
  std::map<std::string, std::string> producer;  // value -> node
  for (const Node& n : g.nodes)
    for (const std::string& out : n.outputs) producer[out] = n.name;
  std::size_t edges = 0;
  for (const Node& n : g.nodes)
    for (const std::string& in : n.inputs) {
      auto p = producer.find(in);
      if (p == producer.end()) continue;  // a graph input
      INFO(p->second << " -> " << n.name);
      REQUIRE(position.at(p->second) < position.at(n.name));
      ++edges;
    }
  return edges;
}

// A random DAG: 1-3 inputs, then nodes that each read 1 or 2 values made before them
// (half the time one of the last few, so that there are long chains as well as wide
// fan-out), then the node list shuffled.
Graph random_dag(Rng& rng) {
  Graph g;
  std::vector<std::string> made;
  const std::size_t inputs = 1 + rng.below(3);
  for (std::size_t i = 0; i < inputs; ++i) {
    g.values.push_back({"in" + std::to_string(i), ValueKind::Input, {2, 2}});
    made.push_back(g.values.back().name);
  }
  const std::size_t nodes = 1 + rng.below(80);
  auto pick = [&] {
    if (rng.below(2) == 0) return made[made.size() - 1 - rng.below(std::min<std::size_t>(made.size(), 3))];
    return made[rng.below(made.size())];
  };
  for (std::size_t k = 0; k < nodes; ++k) {
    Node n;
    n.name = "n" + std::to_string(k);
    if (rng.below(3) == 0) {
      n.op = "relu";
      n.inputs = {pick()};
    } else {
      n.op = "add";
      n.inputs = {pick(), pick()};
    }
    n.outputs = {"v" + std::to_string(k)};
    made.push_back(n.outputs[0]);
    g.nodes.push_back(std::move(n));
  }
  for (std::size_t i = g.nodes.size(); i > 1; --i) std::swap(g.nodes[i - 1], g.nodes[rng.below(i)]);
  return g;
}

}  // namespace

TEST_CASE("toposort orders nodes listed out of execution order", "[toposort]") {
  // x -> a -> b -> c, listed c, a, b
  Graph g;
  g.values = {{"x", ValueKind::Input, {2, 2}}};
  g.nodes = {{"c", "relu", {"vb"}, {"vc"}, {}}, {"a", "relu", {"x"}, {"va"}, {}}, {"b", "relu", {"va"}, {"vb"}, {}}};
  const IndexedGraph ig = index_graph(g);
  const std::vector<int> order = toposort(ig);
  CHECK(order == std::vector<int>{1, 2, 0});
  check_order(g, ig, order);
}

TEST_CASE("toposort respects every edge of 200 random DAGs", "[toposort]") {
  Rng rng(20240917);
  std::size_t total_edges = 0, total_nodes = 0, max_fan_out = 0;
  for (int trial = 0; trial < 200; ++trial) {
    INFO("trial " << trial);
    const Graph g = random_dag(rng);
    const IndexedGraph ig = index_graph(g);
    total_edges += check_order(g, ig, toposort(ig));
    total_nodes += g.nodes.size();
    std::vector<std::size_t> uses(ig.values.size(), 0);
    for (const NodeInfo& node : ig.nodes)
      for (int v : node.inputs) max_fan_out = std::max(max_fan_out, ++uses[static_cast<std::size_t>(v)]);
  }
  // The generator made graphs worth testing: many edges, real fan-out.
  CHECK(total_nodes > 2000);
  CHECK(total_edges > total_nodes);
  CHECK(max_fan_out >= 4);
}

TEST_CASE("a cycle is a GraphError naming every node on it", "[toposort]") {
  SECTION("a -> b -> c -> a, fed by a node outside the cycle") {
    Graph g;
    g.values = {{"x", ValueKind::Input, {2, 2}}};
    g.nodes = {{"pre", "relu", {"x"}, {"vp"}, {}},
               {"cyc_a", "add", {"vc", "vp"}, {"va"}, {}},
               {"cyc_b", "relu", {"va"}, {"vb"}, {}},
               {"cyc_c", "relu", {"vb"}, {"vc"}, {}},
               {"post", "relu", {"vc"}, {"vq"}, {}}};
    const std::string msg = cycle_message(g);
    CHECK_THAT(msg, Contains("cycle"));
    CHECK_THAT(msg, Contains("'cyc_a'") && Contains("'cyc_b'") && Contains("'cyc_c'"));
    CHECK_THAT(msg, !Contains("'pre'") && !Contains("'post'"));
  }
  SECTION("a node reading its own output") {
    Graph g;
    g.values = {{"x", ValueKind::Input, {2, 2}}};
    g.nodes = {{"first", "relu", {"x"}, {"v0"}, {}}, {"selfish", "add", {"v0", "v1"}, {"v1"}, {}}};
    const std::string msg = cycle_message(g);
    CHECK_THAT(msg, Contains("'selfish'") && !Contains("'first'"));
  }
  SECTION("a back edge inside a chain of ten") {
    // n0 -> n1 -> ... -> n9, then n3 also reads n7's output: the cycle is n3..n7.
    Graph g;
    g.values = {{"x", ValueKind::Input, {2, 2}}};
    for (int k = 0; k < 10; ++k)
      g.nodes.push_back({"n" + std::to_string(k), "relu", {k == 0 ? "x" : "v" + std::to_string(k - 1)},
                         {"v" + std::to_string(k)}, {}});
    g.nodes[3].op = "add";
    g.nodes[3].inputs.push_back("v7");
    std::reverse(g.nodes.begin(), g.nodes.end());
    const std::string msg = cycle_message(g);
    for (int k = 3; k <= 7; ++k) CHECK_THAT(msg, Contains("'n" + std::to_string(k) + "'"));
    for (int k : {0, 1, 2, 8, 9}) CHECK_THAT(msg, !Contains("'n" + std::to_string(k) + "'"));
  }
}

TEST_CASE("toposort on a graph built by hand: each input's producer first, in a fixed order", "[toposort]") {
  // split 'sp' (x) -> a, b;  'ra' relu(a) -> c;  'sum' add(c, b) -> d;  'free' relu(x) -> e
  // listed: sum, ra, free, sp
  testing::register_test_ops();
  testing::HandGraph h;
  const int x = h.value("x", ValueRole::Input, {2, 2});
  const int a = h.value("a"), b = h.value("b"), c = h.value("c"), d = h.value("d"), e = h.value("e");
  const int sum = h.node("sum", "add", {c, b}, {d});
  const int ra = h.node("ra", "relu", {a}, {c});
  const int free = h.node("free", "relu", {x}, {e});
  const int sp = h.node("sp", "test_split", {x}, {a, b});
  // The depth-first search starts at node 0 and takes each node's consumers in node order:
  // an order that depends on the graph alone, so the same graph gets the same plan.
  CHECK(toposort(h.g) == std::vector<int>{sp, free, ra, sum});
  // Without edges, the reverse of the node order.
  testing::HandGraph loose;
  const int u = loose.value("u", ValueRole::Input, {2});
  for (int k = 0; k < 3; ++k) loose.node("n" + std::to_string(k), "relu", {u}, {loose.value("v" + std::to_string(k))});
  CHECK(toposort(loose.g) == std::vector<int>{2, 1, 0});
  CHECK(toposort(IndexedGraph{}).empty());
}
