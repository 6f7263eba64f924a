// Gradient clipping in the optimizer step (engine/optimizer.hpp: GradientClipping): by
// the global norm against a norm worked out by hand, by value, both together against the
// gradients of a Gradients plan, the plan it needs, the bounds it refuses, and fit with
// clipping through a checkpoint.
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "core/errors.hpp"
#include "datasets/circle.hpp"
#include "engine/builder.hpp"
#include "engine/executor.hpp"
#include "engine/fit.hpp"
#include "serialization/checkpoint_json.hpp"
#include "tests/error_message.hpp"
#include "tests/example_graphs.hpp"
#include "tests/executor_helpers.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

// loss = mse(x w, t) with x [1, 2], w [2, 1] from zeros, t [1, 1].
Model line() {
  GraphBuilder b;
  Value x = b.input("x", {1, 2}), t = b.input("t", {1, 1});
  Value w = b.parameter("w", {2, 1}, Init{});
  b.output(b.mse_loss(b.matmul(x, w), t, "loss"));
  return b.build(0);
}

Plan training_plan(const Graph& g, bool updates_last) {
  PlanRequest r;
  r.kind = PlanKind::Training;
  r.updates_last = updates_last;
  return make_plan(g, r);
}

// A 3-8-8-2 MLP on fixed inputs: several parameters, so the norm is a global one.
Model mlp() {
  GraphBuilder b;
  Value x = b.input("x", {4, 3}), y = b.input("y", {4, 2});
  Value h = b.relu(b.dense(x, 8, "fc1"));
  h = b.relu(b.dense(h, 8, "fc2"));
  b.output(b.mse_loss(b.dense(h, 2, "fc3"), y, "loss"));
  return b.build(3);
}

template <class E>
void feed(E& e) {
  const float x[12] = {0.5f, -1, 2, 1.5f, 0.25f, -0.75f, -2, 1, 0.3f, 0.9f, -0.4f, 1.1f};
  const float y[8] = {3, -2, 1, 4, -3, 2, 0.5f, -1};
  e.set_input("x", x, 12);
  e.set_input("y", y, 8);
}

}  // namespace

TEST_CASE("clipping by norm: the hand-computed norm of a one-parameter model", "[clip][optimizer]") {
  // x = (3, 4), w = 0, t = 1: dL/dy = 2 (0 - 1) = -2, so the gradient of w is (-6, -8), of
  // norm 10. Clipped to 5 it is (-6, -8) * 5 / (10 + 1e-6), and SGD with lr 1 moves w there.
  Model m = line();
  SGD<float> sgd(m, SgdOptions{1.0});
  sgd.set_clipping({5.0, 0.0});
  Executor<float> e(m, training_plan(m.graph, true), &sgd);
  const float x[2] = {3, 4}, t[1] = {1};
  e.set_input("x", x, 2);
  e.set_input("t", t, 1);
  e.run();
  const float scale = static_cast<float>(5.0 / (10.0 + 1e-6));
  const float* w = m.parameters.at("w").data();
  CHECK(w[0] == 0.0f - 1.0f * (-6.0f * scale));
  CHECK(w[1] == 0.0f - 1.0f * (-8.0f * scale));
  CHECK(std::hypot(double(w[0]), double(w[1])) == Approx(5.0).epsilon(1e-6));

  SECTION("a norm under the bound is left alone") {
    Model m2 = line();
    SGD<float> sgd2(m2, SgdOptions{1.0});
    sgd2.set_clipping({10.5, 0.0});
    Executor<float> e2(m2, training_plan(m2.graph, true), &sgd2);
    e2.set_input("x", x, 2);
    e2.set_input("t", t, 1);
    e2.run();
    CHECK(m2.parameters.at("w").data()[0] == 6.0f);
    CHECK(m2.parameters.at("w").data()[1] == 8.0f);
  }
  SECTION("by value: each element clamped") {
    Model m2 = line();
    SGD<float> sgd2(m2, SgdOptions{1.0});
    sgd2.set_clipping({0.0, 7.0});
    Executor<float> e2(m2, training_plan(m2.graph, false), &sgd2);
    e2.set_input("x", x, 2);
    e2.set_input("t", t, 1);
    e2.run();
    CHECK(m2.parameters.at("w").data()[0] == 6.0f);
    CHECK(m2.parameters.at("w").data()[1] == 7.0f);
  }
}

TEST_CASE("clipping by value then norm, over every parameter, as the gradients say", "[clip][optimizer]") {
  // The gradients, from a Gradients plan of the same model at the same inputs.
  Model ref = mlp();
  Executor<float> grads(ref, plan_for<float>(ref.graph, PlanKind::Gradients, 4));
  feed(grads);
  grads.run();
  const double value = 0.05, max_norm = 0.1;
  double sum = 0;
  for (const auto& [name, p] : ref.parameters)
    for (float g : grads.grad(name)) {
      const double c = std::min(std::max(double(g), -value), value);
      sum += c * c;
    }
  const double total = std::sqrt(sum);
  REQUIRE(total > max_norm);  // so that the norm clips
  const float scale = static_cast<float>(max_norm / (total + 1e-6));

  Model m = mlp();
  SGD<float> sgd(m, SgdOptions{0.5});
  sgd.set_clipping({max_norm, value});
  PlanRequest r;
  r.kind = PlanKind::Training;
  r.updates_last = true;
  Executor<float> e(m, make_plan(m.graph, r), &sgd);
  feed(e);
  e.run();
  for (const auto& [name, p] : ref.parameters) {
    const TensorRef<const float> g = grads.grad(name);
    const float* before = p.data();
    const float* after = m.parameters.at(name).data();
    for (std::size_t i = 0; i < p.size(); ++i) {
      const float clamped = std::min(std::max(g[i], float(-value)), float(value));
      REQUIRE(after[i] == before[i] - 0.5f * (clamped * scale + 0.0f * before[i]));
    }
  }
}

TEST_CASE("clipping by norm needs updates_last; bounds must be finite and >= 0", "[clip][optimizer]") {
  Model m = mlp();
  SGD<float> sgd(m, SgdOptions{0.5});
  sgd.set_clipping({1.0, 0.0});
  Executor<float> e(m, training_plan(m.graph, false), &sgd);
  feed(e);
  CHECK_THAT(error_message<UsageError>([&] { e.run(); }), Contains("updates_last"));
  CHECK_THAT(error_message<UsageError>([&] { sgd.set_clipping({-1.0, 0.0}); }),
             Contains("clip norm must be finite and >= 0, got -1"));
  CHECK_THAT(error_message<UsageError>([&] { sgd.set_clipping({0.0, INFINITY}); }), Contains("clip value"));
  // The deferred updates give an unclipped step the same bits as the usual plan.
  Model a = mlp(), b = mlp();
  SGD<float> sa(a, SgdOptions{0.5}), sb(b, SgdOptions{0.5});
  Executor<float> ea(a, training_plan(a.graph, false), &sa), eb(b, training_plan(b.graph, true), &sb);
  feed(ea);
  feed(eb);
  ea.run();
  eb.run();
  CHECK(same_bits(a.parameters, b.parameters));
}

TEST_CASE("fit with clipping: it changes the run, and a checkpoint keeps it", "[clip][fit]") {
  const CircleData train = make_circle(200, 5);
  const DataView tr{train.points.data(), train.labels.data(), train.size()};
  const ValueRoles roles{"x", "labels", "loss", "logits"};
  auto run = [&](GradientClipping clip) {
    Model m = small_classifier(2);
    SGD<float> sgd(m, SgdOptions{0.5, 0.9});
    FitOptions o;
    o.epochs = 2;
    o.batch = 32;
    o.progress = Progress::Off;
    o.clip = clip;
    const FitResult r = fit(m, sgd, roles, tr, {}, o);
    CHECK(sgd.clipping() == clip);
    CHECK(r.state.clip == clip);
    return std::make_pair(m, r.state);
  };
  const auto [plain, plain_state] = run({});
  const auto [clipped, clipped_state] = run({0.5, 0.0});
  CHECK_FALSE(same_bits(plain.parameters, clipped.parameters));
  const TrainingState back = training_state_from_json(training_state_to_json(clipped_state), "<mem>");
  CHECK(back.clip == GradientClipping{0.5, 0.0});
  CHECK(back == clipped_state);
  // Without clipping the checkpoint has no clipping keys (format version 1's bytes).
  CHECK_FALSE(training_state_to_json(plain_state)["options"].contains("clip_norm"));
  nlohmann::json j = training_state_to_json(clipped_state);
  j["options"]["clip_norm"] = -2.0;
  CHECK_THROWS_WITH(training_state_from_json(j, "c.json"), Contains("c.json: /training/options/clip_norm"));
}
