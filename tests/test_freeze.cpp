// Freezing parameters: the patterns, a partly frozen graph's gradients (the others' the
// same bits as unfrozen, and right by central differences; the frozen ones and the
// backward steps that only fed them gone), fit leaving frozen weights untouched with no
// optimizer state for them, and a frozen run checkpointed and resumed bit for bit.
#include <cmath>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "core/errors.hpp"
#include "datasets/circle.hpp"
#include "engine/builder.hpp"
#include "engine/executor.hpp"
#include "engine/fit.hpp"
#include "serialization/checkpoint.hpp"
#include "tests/error_message.hpp"
#include "tests/example_graphs.hpp"
#include "tests/executor_helpers.hpp"
#include "tests/same_bits.hpp"
#include "tests/temp_dir.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

Plan gradients_plan(const Graph& g, std::vector<std::string> frozen) {
  PlanRequest r;
  r.kind = PlanKind::Gradients;
  r.batch = 6;
  r.elem_bytes = sizeof(double);
  r.frozen = std::move(frozen);
  return make_plan(g, r);
}

std::size_t backward_steps(const Plan& p) {
  std::size_t n = 0;
  for (const Step& s : p.schedule.steps) n += s.kind == StepKind::Backward;
  return n;
}

void feed(Executor<double>& e) {
  const double x[12] = {0.5, -1, 2, 1.5, 0.25, -0.75, -2, 1, 0.3, 0.9, -0.4, 1.1};
  const double labels[6] = {0, 1, 1, 0, 1, 0};
  e.set_input("x", x, 12);
  e.set_input("labels", labels, 6);
}

}  // namespace

TEST_CASE("freeze patterns: names and prefixes", "[freeze]") {
  const Model m = small_classifier(1);
  CHECK(freeze_patterns(m.graph, {"fc1.*"}) == std::vector<std::string>{"fc1.weight", "fc1.bias"});
  CHECK(freeze_patterns(m.graph, {"fc2.weight", "fc*"}).size() == 4);
  CHECK(freeze_patterns(m.graph, {}).empty());
  CHECK_THAT(error_message<UsageError>([&] { freeze_patterns(m.graph, {"fc3.*"}); }),
             Contains("'fc3.*' names no parameter"));
  CHECK_THAT(error_message<UsageError>([&] { freeze_patterns(m.graph, {"fc1"}); }), Contains("'fc1' names no parameter"));
  PlanRequest r;
  r.kind = PlanKind::Gradients;
  r.batch = 2;
  r.frozen = {"x"};
  CHECK_THAT(error_message<GraphError>([&] { make_plan(m.graph, r); }), Contains("'x' is frozen but is not a parameter"));
}

TEST_CASE("a partly frozen graph: the other gradients unchanged and right; the frozen ones' steps gone",
          "[freeze][gradcheck]") {
  BasicModel<double> m = small_classifier(2).cast<double>();
  const Plan full_plan = gradients_plan(m.graph, {});
  const Plan frozen_plan = gradients_plan(m.graph, freeze_patterns(m.graph, {"fc1.*"}));
  // fc1's matmul and add_bias ran backward only for fc1's parameters (x wants no gradient).
  CHECK(backward_steps(frozen_plan) + 2 == backward_steps(full_plan));
  for (const Step& s : frozen_plan.schedule.steps)
    if (s.kind == StepKind::Backward) CHECK(frozen_plan.graph.nodes[static_cast<std::size_t>(s.node)].name.rfind("fc1", 0) != 0);
  CHECK(frozen_plan.arena_bytes <= full_plan.arena_bytes);

  Executor<double> full(m, full_plan), frozen(m, frozen_plan);
  feed(full);
  feed(frozen);
  full.run();
  frozen.run();
  CHECK(full.loss() == frozen.loss());
  for (const char* p : {"fc2.weight", "fc2.bias", "logits.weight", "logits.bias"})
    CHECK(same_bits(copy_of(full.grad(p)), copy_of(frozen.grad(p))));
  CHECK_THAT(error_message<GraphError>([&] { frozen.grad("fc1.weight"); }), Contains("not kept"));

  // fc2.weight's gradient against central differences of the loss.
  Tensor<double>& w = m.parameters.at("fc2.weight");
  const std::vector<double> analytic = copy_of(frozen.grad("fc2.weight"));
  double worst = 0, norm = 0;
  for (std::size_t i = 0; i < w.size(); i += 7) {
    const double keep = w.data()[i], h = 1e-6;
    w.data()[i] = keep + h;
    frozen.run();
    const double up = frozen.loss();
    w.data()[i] = keep - h;
    frozen.run();
    const double down = frozen.loss();
    w.data()[i] = keep;
    worst = std::max(worst, std::abs((up - down) / (2 * h) - analytic[i]));
    norm = std::max(norm, std::abs(analytic[i]));
  }
  CHECK(norm > 0);
  CHECK(worst < 1e-7 * std::max(1.0, norm));
}

TEST_CASE("fit with frozen parameters: untouched, no optimizer state, resumed bit for bit", "[freeze][fit]") {
  const CircleData train = make_circle(300, 61);
  const DataView tr{train.points.data(), train.labels.data(), train.size()};
  const ValueRoles roles{"x", "labels", "loss", "logits"};
  auto options = [] {
    FitOptions o;
    o.epochs = 3;
    o.batch = 32;
    o.seed = 2;
    o.progress = Progress::Off;
    o.freeze = {"fc1.*", "logits.bias"};
    return o;
  };
  const Model start = small_classifier(6);
  Model m = small_classifier(6);
  Adam<float> adam(m, AdamOptions{0.01});
  const FitResult r = fit(m, adam, roles, tr, {}, options());
  for (const char* p : {"fc1.weight", "fc1.bias", "logits.bias"})
    CHECK(same_bits(m.parameters.at(p), start.parameters.at(p)));
  for (const char* p : {"fc2.weight", "fc2.bias", "logits.weight"})
    CHECK_FALSE(same_bits(m.parameters.at(p), start.parameters.at(p)));
  CHECK(r.state.optimizer.parameters.size() == 3);
  CHECK(r.state.optimizer.parameters.count("fc1.weight") == 0);
  std::size_t released = 0;
  for (const auto& buffer : adam.exp_avg()) released += buffer.empty();
  CHECK(released == 3);

  // Stopped after the first epoch, resumed from the file alone.
  TempDir dir;
  const std::string ckpt = dir.file("run.ckpt.json");
  {
    Model first = small_classifier(6);
    Adam<float> opt(first, AdamOptions{0.01});
    FitOptions o = options();
    o.checkpoint = checkpoint_writer(ckpt);
    o.on_epoch_end = [](const EpochStats&) { return false; };
    fit(first, opt, roles, tr, {}, o);
  }
  Checkpoint c = load_checkpoint(ckpt);
  CHECK(c.state.freeze == options().freeze);
  std::unique_ptr<Optimizer<float>> opt =
      make_optimizer(c.model, c.state.optimizer, freeze_patterns(c.model.graph, c.state.freeze));
  FitOptions o = resume_options(c.state);
  o.progress = Progress::Off;
  o.resume = &c.state;
  fit(c.model, *opt, roles, tr, {}, o);
  CHECK(same_bits(c.model.parameters, m.parameters));
  // Without the frozen list the snapshot does not fit the optimizer.
  CHECK_THROWS_AS(make_optimizer(c.model, c.state.optimizer), DataError);
}
