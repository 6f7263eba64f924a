// index_graph: a Graph's names, ops, arities and attributes are checked, and names are
// resolved to indices. Every error is a GraphError naming the node and the offending name.
#include <catch2/catch.hpp>

#include "core/errors.hpp"
#include "planner/passes.hpp"

using namespace plangrad;
using Catch::Matchers::Contains;

namespace {

using Ints = std::vector<std::int64_t>;

// x[4, 3] -> matmul 'mm' (w[3, 2]) -> relu 'act'
Graph small_graph() {
  Graph g;
  g.values = {{"x", ValueKind::Input, {4, 3}}, {"w", ValueKind::Parameter, {3, 2}}};
  g.nodes = {{"mm", "matmul", {"x", "w"}, {"y"}, {}}, {"act", "relu", {"y"}, {"z"}, {}}};
  g.outputs = {"z"};
  return g;
}

// x[1, 1, 4, 4] -> max_pool2d 'pool' with the given attributes
Graph pool_graph(Attrs attrs) {
  Graph g;
  g.values = {{"img", ValueKind::Input, {1, 1, 4, 4}}};
  g.nodes = {{"pool", "max_pool2d", {"img"}, {"pooled"}, std::move(attrs)}};
  g.outputs = {"pooled"};
  return g;
}

}  // namespace

TEST_CASE("index_graph resolves names, producers and inputs", "[index_graph]") {
  Graph g = small_graph();
  // A node may name a value that a later node in the file produces.
  g.nodes.push_back({"twice", "add", {"z", "z"}, {"sum"}, {}});
  std::swap(g.nodes[0], g.nodes[2]);  // twice, act, mm
  const IndexedGraph ig = index_graph(g);

  REQUIRE(ig.values.size() == 5);
  REQUIRE(ig.nodes.size() == 3);
  const int x = ig.find_value("x"), w = ig.find_value("w"), y = ig.find_value("y"),
            z = ig.find_value("z"), sum = ig.find_value("sum");
  REQUIRE(x >= 0);
  REQUIRE(w >= 0);
  REQUIRE(y >= 0);
  REQUIRE(z >= 0);
  REQUIRE(sum >= 0);
  CHECK(ig.find_value("nope") == -1);
  CHECK(ig.values[static_cast<std::size_t>(x)].role == ValueRole::Input);
  CHECK(ig.values[static_cast<std::size_t>(w)].role == ValueRole::Parameter);
  CHECK(ig.values[static_cast<std::size_t>(w)].declared == Shape{3, 2});
  CHECK(ig.values[static_cast<std::size_t>(y)].role == ValueRole::Intermediate);
  CHECK(ig.values[static_cast<std::size_t>(y)].producer == 2);  // 'mm' is third in the file
  CHECK(ig.values[static_cast<std::size_t>(z)].producer == 1);
  // Declared values first, then node by node its outputs.
  CHECK(std::vector<int>{x, w, sum, z, y} == std::vector<int>{0, 1, 2, 3, 4});
  // add(z, z) lists z twice.
  CHECK(ig.nodes[0].inputs == std::vector<int>{z, z});
  CHECK(ig.nodes[0].outputs == std::vector<int>{sum});
  CHECK(ig.nodes[2].inputs == std::vector<int>{x, w});
  CHECK(ig.nodes[0].op->name == "add");
  CHECK(ig.nodes[2].op->name == "matmul");
  CHECK(ig.nodes[0].attrs.items().empty());
  CHECK(ig.outputs == std::vector<int>{z});
  CHECK_THROWS_AS(ig.require_value("nope", "loss"), GraphError);
  CHECK_THROWS_WITH(ig.require_value("nope", "loss"), Contains("loss 'nope'"));
}

TEST_CASE("index_graph fills in default attributes", "[index_graph]") {
  const IndexedGraph ig = index_graph(pool_graph({{"kernel", Ints{2, 2}}}));
  const Attrs& a = ig.nodes[0].attrs;
  CHECK(a.get_ints("kernel") == Ints{2, 2});
  CHECK(a.has("stride"));
  CHECK(a.get_ints("stride").empty());
  CHECK(a.get_ints("padding") == Ints{0, 0});
}

TEST_CASE("index_graph: an unknown op names the node and the op", "[index_graph]") {
  Graph g = small_graph();
  g.nodes[1].op = "frobnicate";
  REQUIRE_THROWS_AS(index_graph(g), GraphError);
  REQUIRE_THROWS_WITH(index_graph(g), Contains("'act'") && Contains("unknown op 'frobnicate'"));
}

TEST_CASE("index_graph: a wrong arity names the node and the op", "[index_graph]") {
  Graph g = small_graph();
  g.nodes[0].inputs = {"x"};
  REQUIRE_THROWS_AS(index_graph(g), GraphError);
  REQUIRE_THROWS_WITH(index_graph(g), Contains("matmul 'mm'") && Contains("takes 2 inputs, got 1"));

  Graph too_many = small_graph();
  too_many.nodes[1].inputs = {"y", "x"};
  REQUIRE_THROWS_WITH(index_graph(too_many), Contains("relu 'act'") && Contains("takes 1 inputs, got 2"));

  Graph outputs = small_graph();
  outputs.nodes[1].outputs = {"z", "z2"};
  REQUIRE_THROWS_AS(index_graph(outputs), GraphError);
  REQUIRE_THROWS_WITH(index_graph(outputs), Contains("relu 'act'") && Contains("has 1 outputs, got 2"));
}

TEST_CASE("index_graph: an unknown input names the node and the input", "[index_graph]") {
  Graph g = small_graph();
  g.nodes[1].inputs = {"why"};
  REQUIRE_THROWS_AS(index_graph(g), GraphError);
  REQUIRE_THROWS_WITH(index_graph(g), Contains("relu 'act'") && Contains("input 'why'"));

  Graph out = small_graph();
  out.outputs = {"zz"};
  REQUIRE_THROWS_AS(index_graph(out), GraphError);
  REQUIRE_THROWS_WITH(index_graph(out), Contains("graph output 'zz'"));
}

TEST_CASE("index_graph: a duplicate value name is named", "[index_graph]") {
  SECTION("two declarations") {
    Graph g = small_graph();
    g.values.push_back({"w", ValueKind::State, {2}});
    REQUIRE_THROWS_AS(index_graph(g), GraphError);
    REQUIRE_THROWS_WITH(index_graph(g), Contains("duplicate value name 'w'"));
  }
  SECTION("a node output that shadows a declared value names the node") {
    Graph g = small_graph();
    g.nodes[1].outputs = {"x"};
    REQUIRE_THROWS_AS(index_graph(g), GraphError);
    REQUIRE_THROWS_WITH(index_graph(g), Contains("node 'act'") && Contains("duplicate value name 'x'"));
  }
  SECTION("two nodes producing one value names the second node") {
    Graph g = small_graph();
    g.nodes.push_back({"act2", "relu", {"y"}, {"z"}, {}});
    REQUIRE_THROWS_AS(index_graph(g), GraphError);
    REQUIRE_THROWS_WITH(index_graph(g), Contains("node 'act2'") && Contains("duplicate value name 'z'"));
  }
}

TEST_CASE("index_graph: a duplicate node name is named", "[index_graph]") {
  Graph g = small_graph();
  g.nodes.push_back({"mm", "relu", {"z"}, {"z2"}, {}});
  REQUIRE_THROWS_AS(index_graph(g), GraphError);
  REQUIRE_THROWS_WITH(index_graph(g), Contains("duplicate node name 'mm'"));
}

TEST_CASE("index_graph: empty names are refused", "[index_graph]") {
  Graph node = small_graph();
  node.nodes[1].name = "";
  REQUIRE_THROWS_AS(index_graph(node), GraphError);
  REQUIRE_THROWS_WITH(index_graph(node), Contains("node #1") && Contains("empty name"));

  Graph value = small_graph();
  value.nodes[1].outputs = {""};
  REQUIRE_THROWS_AS(index_graph(value), GraphError);
  REQUIRE_THROWS_WITH(index_graph(value), Contains("node 'act'") && Contains("empty name"));
}

TEST_CASE("index_graph: unknown, missing and ill-typed attributes name node and attribute",
          "[index_graph]") {
  SECTION("unknown") {
    const Graph g = pool_graph({{"kernel", Ints{2, 2}}, {"size", std::int64_t{2}}});
    REQUIRE_THROWS_AS(index_graph(g), GraphError);
    REQUIRE_THROWS_WITH(index_graph(g), Contains("max_pool2d 'pool'") && Contains("unknown attribute 'size'"));
  }
  SECTION("missing") {
    const Graph g = pool_graph({{"stride", Ints{2, 2}}});
    REQUIRE_THROWS_AS(index_graph(g), GraphError);
    REQUIRE_THROWS_WITH(index_graph(g), Contains("max_pool2d 'pool'") && Contains("missing attribute 'kernel'"));
  }
  SECTION("ill-typed: an integer where a list is expected") {
    const Graph g = pool_graph({{"kernel", std::int64_t{2}}});
    REQUIRE_THROWS_AS(index_graph(g), GraphError);
    REQUIRE_THROWS_WITH(index_graph(g), Contains("max_pool2d 'pool'") && Contains("attribute 'kernel'") &&
                                            Contains("a list of integers"));
  }
  SECTION("ill-typed: a string where a number is expected") {
    Graph g;
    g.values = {{"x", ValueKind::Input, {2, 3}},
                {"gamma", ValueKind::Parameter, {3}},
                {"beta", ValueKind::Parameter, {3}},
                {"mean", ValueKind::State, {3}},
                {"var", ValueKind::State, {3}}};
    g.nodes = {{"bn", "batchnorm", {"x", "gamma", "beta", "mean", "var"}, {"y"}, {{"eps", std::string("tiny")}}}};
    REQUIRE_THROWS_AS(index_graph(g), GraphError);
    REQUIRE_THROWS_WITH(index_graph(g), Contains("batchnorm 'bn'") && Contains("attribute 'eps'") &&
                                            Contains("a number"));
  }
  SECTION("attributes on an op that takes none") {
    Graph g = small_graph();
    g.nodes[1].attrs.set("slope", 0.1);
    REQUIRE_THROWS_AS(index_graph(g), GraphError);
    REQUIRE_THROWS_WITH(index_graph(g), Contains("relu 'act'") && Contains("unknown attribute 'slope'"));
  }
}

TEST_CASE("index_graph: a declared shape may be symbolic only for inputs", "[index_graph]") {
  Graph g = small_graph();
  g.values[0].shape = {kBatchDim, 3};
  CHECK_NOTHROW(index_graph(g));
  g.values[1].shape = {kBatchDim, 2};
  REQUIRE_THROWS_AS(index_graph(g), ShapeError);
  REQUIRE_THROWS_WITH(index_graph(g), Contains("parameter 'w'"));
}
