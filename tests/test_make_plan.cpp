// make_plan: the passes composed. One placement per tensor (an arena offset, or none for
// external and fused-away tensors); the statistics; what the request chooses.
#include <algorithm>

#include <catch2/catch.hpp>

#include "core/errors.hpp"
#include "engine/builder.hpp"
#include "planner/plan.hpp"

using namespace plangrad;
using Catch::Matchers::Contains;

namespace {

// x[N,2] -> dense 3 'fc1' -> relu 'act' -> dense 2 'fc2' -> softmax_cross_entropy (labels[N]) 'loss'
Graph classifier() {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2}), labels = b.input("labels", {kBatchDim});
  Value logits = b.dense(b.relu(b.dense(x, 3, "fc1"), "act"), 2, "fc2");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  return b.graph();
}

PlanRequest training(std::int64_t batch = 8) {
  PlanRequest r;
  r.kind = PlanKind::Training;
  r.batch = batch;
  return r;
}

}  // namespace

TEST_CASE("make_plan: one placement per tensor", "[make_plan]") {
  const Plan p = make_plan(classifier(), training());
  const Schedule& s = p.schedule;
  REQUIRE(p.offset.size() == s.tensors.size());
  std::size_t with_offset = 0;
  for (std::size_t t = 0; t < s.tensors.size(); ++t) {
    const TensorInfo& info = s.tensors[t];
    INFO(info.name);
    // External tensors live in the model; the fused sums and their gradients nowhere.
    const bool fused_away = info.name == "fc1" || info.name == "grad:fc1";
    if (info.external() || fused_away) {
      CHECK_FALSE(p.offset[t]);
      continue;
    }
    REQUIRE(p.offset[t]);
    ++with_offset;
    CHECK(*p.offset[t] % 64 == 0);
    CHECK(*p.offset[t] + numel(info.shape) * p.elem_bytes <= p.arena_bytes);
    // The offset is its slot's.
    const int slot = p.slots.tensor_slot[t];
    REQUIRE(slot >= 0);
    for (std::size_t u = 0; u < t; ++u)
      if (p.slots.tensor_slot[u] == slot) CHECK(*p.offset[u] == *p.offset[t]);
  }
  CHECK(with_offset == p.stats.tensors - p.stats.fused_away);
  CHECK(p.stats.fused_away == 2);
  CHECK(p.stats.fused_steps == 2);  // fc1 + act, forward and backward
}

TEST_CASE("make_plan: the statistics", "[make_plan]") {
  const Plan p = make_plan(classifier(), training());
  const Schedule& s = p.schedule;
  std::size_t tensors = 0, naive = 0;
  for (const TensorInfo& t : s.tensors)
    if (!t.external()) {
      ++tensors;
      naive += (numel(t.shape) * sizeof(float) + 63) / 64 * 64;
    }
  CHECK(p.stats.tensors == tensors);
  CHECK(p.stats.naive_bytes == naive);
  CHECK(p.stats.arena_bytes == p.arena_bytes);
  CHECK(p.stats.lower_bound_bytes <= p.arena_bytes);
  CHECK(p.arena_bytes < naive);
  const auto slots = static_cast<std::size_t>(std::count_if(p.slots.bytes.begin(), p.slots.bytes.end(), [](std::size_t b) { return b > 0; }));
  CHECK(p.stats.slots == slots);
  CHECK(p.stats.inplace == tensors - p.stats.fused_away - slots);
  CHECK(p.stats.inplace > 0);
  CHECK(p.stats.strategy == "greedy-by-size");

  SECTION("without reuse: the slots side by side") {
    PlanRequest r = training();
    r.reuse_memory = false;
    const Plan n = make_plan(classifier(), r);
    CHECK(n.stats.strategy == "naive");
    CHECK(n.stats.inplace == 0);
    std::size_t sum = 0;
    for (std::size_t b : n.slots.bytes) sum += b;
    CHECK(n.arena_bytes == sum);
    CHECK(n.stats.naive_bytes == naive);
  }
}

TEST_CASE("make_plan: what the request chooses", "[make_plan]") {
  SECTION("a training plan: Train mode, the first output as the loss, updates, no gradient kept") {
    const Plan p = make_plan(classifier(), training());
    CHECK(p.mode == Mode::Train);
    CHECK(p.schedule.loss == p.tensor_of_value("loss"));
    CHECK(std::any_of(p.schedule.steps.begin(), p.schedule.steps.end(), [](const Step& st) { return st.kind == StepKind::Update; }));
    CHECK_FALSE(p.kept(p.tensor_of_grad("fc2.weight")));
    CHECK(p.kept(p.tensor_of_value("loss")));
  }
  SECTION("an inference plan: Eval mode, the graph's outputs kept, no backward") {
    PlanRequest r;
    r.batch = 8;
    r.outputs = {"fc2"};
    const Plan p = make_plan(classifier(), r);
    CHECK(p.mode == Mode::Eval);
    CHECK(p.kept(p.tensor_of_value("fc2")));
    CHECK(p.tensor_of_value("loss") == -1);  // pruned
    CHECK(p.tensor_of_grad("fc2") == -1);
    for (const Step& st : p.schedule.steps) CHECK(st.kind == StepKind::Forward);
  }
  SECTION("a gradients plan keeps parameter and requested input gradients") {
    PlanRequest r = training();
    r.kind = PlanKind::Gradients;
    r.input_gradients = {"x"};
    r.mode = static_cast<int>(Mode::Eval);
    const Plan p = make_plan(classifier(), r);
    CHECK(p.mode == Mode::Eval);
    CHECK(p.kept(p.tensor_of_grad("x")));
    CHECK(p.kept(p.tensor_of_grad("fc1.weight")));
    CHECK(std::none_of(p.schedule.steps.begin(), p.schedule.steps.end(), [](const Step& st) { return st.kind == StepKind::Update; }));
  }
  SECTION("unknown names and missing roots are GraphErrors") {
    PlanRequest r = training();
    r.loss = "nope";
    CHECK_THROWS_WITH(make_plan(classifier(), r), Contains("loss 'nope'"));
    Graph g = classifier();
    g.outputs.clear();
    CHECK_THROWS_WITH(make_plan(g, training()), Contains("needs a loss"));
    PlanRequest infer;
    infer.batch = 8;
    CHECK_THROWS_WITH(make_plan(g, infer), Contains("needs outputs"));
    infer.outputs = {"fc9"};
    CHECK_THROWS_WITH(make_plan(g, infer), Contains("requested output 'fc9'"));
  }
}
