// infer_shapes: every value's shape from the declarations and the ops' rules; a symbolic
// batch is bound by the plan, and a mismatch names the node, the op and the shapes.
#include <catch2/catch.hpp>

#include "engine/builder.hpp"
#include "core/errors.hpp"
#include "planner/passes.hpp"
#include "planner/plan.hpp"

using namespace plangrad;
using Catch::Matchers::Contains;

namespace {

// x[N, 2] -> dense 25 -> relu -> dense 25 -> relu -> dense 3 -> mse against target[N, 3]
Model mlp() {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2});
  Value target = b.input("target", {kBatchDim, 3});
  Value h = b.relu(b.dense(x, 25, "fc1"), "relu1");
  h = b.relu(b.dense(h, 25, "fc2"), "relu2");
  Value out = b.dense(h, 3, "fc3");
  b.output(b.mse_loss(out, target, "loss"));
  return b.build(1);
}

Shape shape_of(const IndexedGraph& g, const std::vector<Shape>& shapes, const char* name) {
  return shapes[static_cast<std::size_t>(g.require_value(name, "value"))];
}

// x[N, 2] -> matmul 'fc1' (w [2, 25]) -> h[N, 25] -> matmul 'fc2' (w [30, 2]): 25 != 30.
// Written by hand: the builder would refuse fc2 at once.
Graph mismatched_graph() {
  Graph g;
  g.values = {{"x", ValueKind::Input, {kBatchDim, 2}},
              {"fc1.weight", ValueKind::Parameter, {2, 25}},
              {"fc2.weight", ValueKind::Parameter, {30, 2}}};
  g.nodes = {{"fc1", "matmul", {"x", "fc1.weight"}, {"h"}, {}},
             {"fc2", "matmul", {"h", "fc2.weight"}, {"out"}, {}}};
  g.outputs = {"out"};
  return g;
}

}  // namespace

TEST_CASE("infer_shapes through an MLP binds the batch", "[infer_shapes]") {
  const Model model = mlp();
  const IndexedGraph g = index_graph(model.graph);
  const std::vector<int> order = toposort(g);
  for (std::int64_t batch : {1, 7, 100}) {
    INFO("batch " << batch);
    const std::vector<Shape> shapes = infer_shapes(g, order, batch);
    REQUIRE(shapes.size() == g.values.size());
    CHECK(shape_of(g, shapes, "x") == Shape{batch, 2});
    CHECK(shape_of(g, shapes, "target") == Shape{batch, 3});
    CHECK(shape_of(g, shapes, "fc1.weight") == Shape{2, 25});
    CHECK(shape_of(g, shapes, "fc1.bias") == Shape{25});
    CHECK(shape_of(g, shapes, "fc1.matmul") == Shape{batch, 25});
    CHECK(shape_of(g, shapes, "fc1") == Shape{batch, 25});
    CHECK(shape_of(g, shapes, "relu1") == Shape{batch, 25});
    CHECK(shape_of(g, shapes, "fc2.weight") == Shape{25, 25});
    CHECK(shape_of(g, shapes, "relu2") == Shape{batch, 25});
    CHECK(shape_of(g, shapes, "fc3.weight") == Shape{25, 3});
    CHECK(shape_of(g, shapes, "fc3") == Shape{batch, 3});
    CHECK(shape_of(g, shapes, "loss") == Shape{});
  }
}

TEST_CASE("infer_shapes leaves values outside the order empty", "[infer_shapes]") {
  const Model model = mlp();
  const IndexedGraph g = index_graph(model.graph);
  const std::vector<int> order = prune(g, toposort(g), {g.require_value("relu1", "root")});
  const std::vector<Shape> shapes = infer_shapes(g, order, 5);
  CHECK(shape_of(g, shapes, "relu1") == Shape{5, 25});
  CHECK(shape_of(g, shapes, "fc2").empty());
  CHECK(shape_of(g, shapes, "loss").empty());
}

TEST_CASE("infer_shapes: a symbolic batch needs a batch size", "[infer_shapes]") {
  const Model model = mlp();
  const IndexedGraph g = index_graph(model.graph);
  const std::vector<int> order = toposort(g);
  REQUIRE_THROWS_AS(infer_shapes(g, order, 0), ShapeError);
  REQUIRE_THROWS_WITH(infer_shapes(g, order, 0), Contains("input 'x'") && Contains("[N, 2]") &&
                                                     Contains("batch size"));
  // Through make_plan too.
  PlanRequest request;
  REQUIRE_THROWS_AS(make_plan(model.graph, request), ShapeError);
  request.batch = 4;
  CHECK(make_plan(model.graph, request).schedule.tensors.size() > 0);
}

TEST_CASE("infer_shapes: fixed shapes need no batch", "[infer_shapes]") {
  Graph g = mismatched_graph();
  g.values[0].shape = {3, 2};
  g.values[2].shape = {25, 4};
  const IndexedGraph ig = index_graph(g);
  const std::vector<Shape> shapes = infer_shapes(ig, toposort(ig), 0);
  CHECK(shape_of(ig, shapes, "h") == Shape{3, 25});
  CHECK(shape_of(ig, shapes, "out") == Shape{3, 4});
}

TEST_CASE("infer_shapes: a matmul mismatch names the node and both dimensions", "[infer_shapes]") {
  const Graph graph = mismatched_graph();
  const IndexedGraph g = index_graph(graph);
  const std::vector<int> order = toposort(g);
  REQUIRE_THROWS_AS(infer_shapes(g, order, 100), ShapeError);
  REQUIRE_THROWS_WITH(infer_shapes(g, order, 100), Contains("matmul 'fc2': inner dimensions 25 and 30 differ"));
  REQUIRE_THROWS_WITH(infer_shapes(g, order, 100), Contains("a [100, 25]") && Contains("b [30, 2]"));

  PlanRequest request;
  request.batch = 100;
  REQUIRE_THROWS_WITH(make_plan(graph, request), Contains("matmul 'fc2': inner dimensions 25 and 30 differ"));
}

TEST_CASE("the builder reports the same mismatch at the line that caused it", "[infer_shapes]") {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2});
  Value h = b.matmul(x, b.parameter("fc1.weight", {2, 25}, init::zeros()), "fc1");
  CHECK(b.shape(h) == Shape{kBatchDim, 25});
  Value w2 = b.parameter("fc2.weight", {30, 2}, init::zeros());
  REQUIRE_THROWS_AS(b.matmul(h, w2, "fc2"), ShapeError);
  REQUIRE_THROWS_WITH(b.matmul(h, w2, "fc2"), Contains("matmul 'fc2': inner dimensions 25 and 30 differ"));
  CHECK(b.graph().find_node("fc2") == nullptr);  // nothing half-added
  CHECK(b.graph().find_node("fc1") != nullptr);
}

TEST_CASE("infer_shapes: other rules name node, op and shapes", "[infer_shapes]") {
  Graph g;
  g.values = {{"x", ValueKind::Input, {4, 3}},
              {"b", ValueKind::Parameter, {5}},
              {"y", ValueKind::Input, {4, 2}},
              {"labels", ValueKind::Input, {5}}};
  SECTION("add_bias") {
    g.nodes = {{"bias", "add_bias", {"x", "b"}, {"out"}, {}}};
    const IndexedGraph ig = index_graph(g);
    REQUIRE_THROWS_AS(infer_shapes(ig, toposort(ig), 0), ShapeError);
    REQUIRE_THROWS_WITH(infer_shapes(ig, toposort(ig), 0), Contains("add_bias 'bias'") && Contains("[5]") &&
                                                               Contains("[4, 3]"));
  }
  SECTION("mse_loss") {
    g.nodes = {{"mse", "mse_loss", {"x", "y"}, {"out"}, {}}};
    const IndexedGraph ig = index_graph(g);
    REQUIRE_THROWS_WITH(infer_shapes(ig, toposort(ig), 0), Contains("mse_loss 'mse'") && Contains("[4, 3]") &&
                                                               Contains("[4, 2]"));
  }
  SECTION("softmax_cross_entropy") {
    g.nodes = {{"ce", "softmax_cross_entropy", {"x", "labels"}, {"out"}, {}}};
    const IndexedGraph ig = index_graph(g);
    REQUIRE_THROWS_WITH(infer_shapes(ig, toposort(ig), 0), Contains("softmax_cross_entropy 'ce'") &&
                                                               Contains("[5]") && Contains("[4, 3]"));
  }
}

TEST_CASE("symbolic_shapes: the batch stays symbolic, every other dimension is bound", "[infer_shapes]") {
  // x[N, 6] -> matmul 'mm' (w[6, 4]) -> [N, 4] -> relu 'act' -> [N, 4]
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 6});
  Value y = b.matmul(x, b.parameter("w", {6, 4}, init::zeros()), "mm");
  b.output(b.relu(y, "act"));
  const IndexedGraph g = index_graph(b.graph());
  const std::vector<Shape> shapes = symbolic_shapes(g, toposort(g));
  CHECK(shape_of(g, shapes, "x") == Shape{kBatchDim, 6});
  CHECK(shape_of(g, shapes, "w") == Shape{6, 4});
  CHECK(shape_of(g, shapes, "mm") == Shape{kBatchDim, 4});
  CHECK(shape_of(g, shapes, "act") == Shape{kBatchDim, 4});
  // A fixed leading dimension equal to a nominal batch is not mistaken for the batch.
  Graph fixed;
  fixed.values = {{"x", ValueKind::Input, {kNominalBatches[0], 3}}, {"w", ValueKind::Parameter, {3, 2}}};
  fixed.nodes = {{"mm", "matmul", {"x", "w"}, {"y"}, {}}};
  const IndexedGraph fg = index_graph(fixed);
  CHECK(shape_of(fg, symbolic_shapes(fg, toposort(fg)), "y") == Shape{kNominalBatches[0], 2});
}
