// The normalize op inside graphs: the builder names the node in its errors, the planner
// runs it in place, and a model that starts with it saves and loads exactly.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/builder.hpp"
#include "engine/executor.hpp"
#include "networks/models.hpp"
#include "planner/plan.hpp"
#include "serialization/model_json.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using Catch::Matchers::Contains;
using plangrad::testing::same_bits;

namespace {

Attrs stats(double mean, double std_dev) { return Attrs{{"mean", mean}, {"std", std_dev}}; }

std::vector<float> logits_of(Model& model) {
  PlanRequest req;
  req.kind = PlanKind::Inference;
  req.outputs = {"logits"};
  req.batch = 4;
  Executor<float> ex(model, make_plan(model.graph, req));
  TensorRef<float> x = ex.input("x");
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37 % 256) / 255.0);
  ex.run();
  TensorRef<const float> y = ex.value("logits");
  return std::vector<float>(y.begin(), y.end());
}

}  // namespace

TEST_CASE("normalize: a bad std is an error naming the node", "[normalize][builder]") {
  GraphBuilder b;
  const Value x = b.input("x", {kBatchDim, 4});
  try {
    b.op("normalize", {x}, stats(0.5, 0.0), "scale_in");
    FAIL("expected a GraphError");
  } catch (const GraphError& e) {
    CHECK_THAT(std::string(e.what()), Contains("normalize 'scale_in'"));
    CHECK_THAT(std::string(e.what()), Contains("attribute 'std' must be positive and finite, got 0"));
  }
}

TEST_CASE("normalize runs in place over a dead activation", "[normalize][planner]") {
  GraphBuilder b;
  const Value x = b.input("x", {kBatchDim, 6}), y = b.input("y", {kBatchDim, 6});
  const Value h = b.dense(x, 6, "fc");  // add_bias's backward reads neither x nor y
  const Value n = b.op("normalize", {h}, stats(1.0, 2.0), "norm");
  b.output(b.mse_loss(n, y, "loss"));
  PlanRequest request;
  request.kind = PlanKind::Training;
  request.batch = 3;
  const Plan plan = make_plan(b.graph(), request);
  // h dies at the normalize step, so its output shares h's memory.
  const int th = plan.tensor_of_value(h.name), tn = plan.tensor_of_value("norm");
  REQUIRE(th >= 0);
  REQUIRE(tn >= 0);
  CHECK(plan.slots.tensor_slot[static_cast<std::size_t>(th)] == plan.slots.tensor_slot[static_cast<std::size_t>(tn)]);
}

TEST_CASE("normalize: the MNIST models with input statistics", "[normalize][models][serialization]") {
  const models::InputStats s{0.28604020178318024, 0.35302424451492237};
  Model m = models::mnist_mlp(s).build(3);
  const Node* node = m.graph.find_node("x_norm");
  REQUIRE(node != nullptr);
  CHECK(node->op == "normalize");
  CHECK(node->inputs == std::vector<std::string>{"x"});
  CHECK(node->attrs.get_float("mean") == s.mean);
  CHECK(node->attrs.get_float("std") == s.std);

  // The statistics survive a save and load to the bit, and so do the predictions.
  Model loaded = model_from_json(model_to_json(m), "<memory>");
  CHECK(loaded.graph.find_node("x_norm")->attrs.get_float("mean") == s.mean);
  CHECK(loaded.graph.find_node("x_norm")->attrs.get_float("std") == s.std);
  const std::vector<float> a = logits_of(m), b = logits_of(loaded);
  REQUIRE(a.size() == 40);
  CHECK(same_bits(a, b));

  // The CNN takes the same first node.
  const Model cnn = models::mnist_cnn(s).build(3);
  REQUIRE(cnn.graph.find_node("x_norm") != nullptr);
  CHECK(cnn.graph.find_node("x_norm")->attrs.get_float("std") == s.std);
  CHECK(cnn.graph.find_node("conv16")->inputs.front() == "x_norm");

  // Normalizing changes the logits: the node is not a no-op.
  Model raw = models::mnist_mlp().build(3);
  const std::vector<float> c = logits_of(raw);
  CHECK_FALSE(same_bits(a, c));
}
