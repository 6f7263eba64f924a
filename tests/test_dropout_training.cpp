// dropout in plans and in fit: the executor's random stream (same seed and step, same
// bits; another step, another mask; Eval mode is the identity), float and double plans
// dropping the same elements, fit's bits at one and at two op threads, and a run
// checkpointed mid-epoch and resumed ending bit-identical to one that never stopped.
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "datasets/circle.hpp"
#include "engine/builder.hpp"
#include "engine/executor.hpp"
#include "engine/fit.hpp"
#include "serialization/checkpoint.hpp"
#include "tests/executor_helpers.hpp"
#include "tests/op_threads.hpp"
#include "tests/same_bits.hpp"
#include "tests/temp_dir.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

// The circle classifier with dropout after each hidden layer.
Model dropout_classifier(std::uint64_t seed, double rate = 0.3) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2}), labels = b.input("labels", {kBatchDim});
  Value h = b.dropout(b.relu(b.dense(x, 32, "fc1")), rate, "drop1");
  h = b.dropout(b.relu(b.dense(h, 32, "fc2")), rate, "drop2");
  Value logits = b.dense(h, 2, "logits");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  return b.build(seed);
}

const ValueRoles kRoles{"x", "labels", "loss", "logits"};

struct Data {
  CircleData train = make_circle(300, 31), val = make_circle(100, 32);
  DataView tr() const { return {train.points.data(), train.labels.data(), train.size()}; }
  DataView va() const { return {val.points.data(), val.labels.data(), val.size()}; }
};

FitOptions options() {
  FitOptions o;
  o.epochs = 4;
  o.batch = 32;  // 300 = 9 * 32 + 12: both training plans run
  o.seed = 9;
  o.eval_batch = 64;
  o.progress = Progress::Off;
  return o;
}

template <class T>
std::vector<T> hidden_after_dropout(Executor<T>& e, const CircleData& data, StepRandom r) {
  TensorRef<T> x = e.input("x");
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(data.points.data()[i]);
  TensorRef<T> labels = e.input("labels");
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<T>(data.labels.data()[i]);
  e.random() = r;
  e.run();
  return copy_of(e.value("drop1"));
}

}  // namespace

TEST_CASE("dropout in a plan: the mask is the seed's and the step's", "[executor][dropout]") {
  Model m = dropout_classifier(1);
  const CircleData data = make_circle(16, 3);
  Executor<float> e(m, plan_for<float>(m.graph, PlanKind::Gradients, 16, true, {"drop1"}));
  const std::vector<float> a = hidden_after_dropout(e, data, {5, 10});
  CHECK(e.random().step == 11);  // a Train-mode run moves the step on
  const std::vector<float> again = hidden_after_dropout(e, data, {5, 10});
  CHECK(same_bits(a, again));
  const std::vector<float> next_step = hidden_after_dropout(e, data, {5, 11});
  const std::vector<float> other_seed = hidden_after_dropout(e, data, {6, 10});
  CHECK_FALSE(same_bits(a, next_step));
  CHECK_FALSE(same_bits(a, other_seed));

  // The same elements dropped in double.
  BasicModel<double> md = m.cast<double>();
  Executor<double> ed(md, plan_for<double>(md.graph, PlanKind::Gradients, 16, true, {"drop1"}));
  const std::vector<double> ad = hidden_after_dropout(ed, data, {5, 10});
  std::size_t zeros = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    REQUIRE((a[i] == 0) == (ad[i] == 0));
    zeros += a[i] == 0;
  }
  CHECK(zeros > 0);

  // Eval mode: no element dropped, nothing scaled.
  PlanRequest r;
  r.kind = PlanKind::Inference;
  r.batch = 16;
  r.outputs = {"drop1", "fc1"};
  Executor<float> ev(m, make_plan(m.graph, r));
  TensorRef<float> x = ev.input("x");
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = data.points.data()[i];
  ev.run();
  const std::vector<float> kept = copy_of(ev.value("drop1"));
  std::vector<float> relu = copy_of(ev.value("fc1"));
  for (float& v : relu) v = v > 0 ? v : 0.0f;
  CHECK(same_bits(kept, relu));
}

TEST_CASE("dropout in fit: the same bits at one and at two op threads", "[fit][dropout][threads]") {
  const Data d;
  auto train = [&](int threads) {
    OpThreads t(threads);
    Model m = dropout_classifier(2);
    SGD<float> sgd(m, SgdOptions{0.1, 0.9});
    fit(m, sgd, kRoles, d.tr(), d.va(), options());
    return m;
  };
  const Model one = train(1), two = train(2);
  CHECK(same_bits(one.parameters, two.parameters));
  // And not the bits of another seed: the masks matter.
  Model other = dropout_classifier(2);
  SGD<float> sgd(other, SgdOptions{0.1, 0.9});
  FitOptions o = options();
  o.seed = 10;
  fit(other, sgd, kRoles, d.tr(), d.va(), o);
  CHECK_FALSE(same_bits(one.parameters, other.parameters));
}

TEST_CASE("dropout in fit: checkpoint mid-epoch, resume, finish: bit-identical", "[fit][dropout][checkpoint]") {
  const Data d;
  Model straight = dropout_classifier(4);
  Adam<float> straight_opt(straight, AdamOptions{0.01});
  const FitResult full = fit(straight, straight_opt, kRoles, d.tr(), d.va(), options());
  REQUIRE(full.status == FitStatus::Completed);

  TempDir dir;
  const std::string ckpt = dir.file("run.ckpt.json");
  {
    Model m = dropout_classifier(4);
    Adam<float> opt(m, AdamOptions{0.01});
    FitOptions o = options();
    o.checkpoint = checkpoint_writer(ckpt);
    // Raised while epoch 2's rate is asked for: the run stops after that epoch's first step.
    o.lr_schedule = [](double base, std::int64_t epoch) {
      if (epoch == 1) std::raise(SIGINT);
      return base;
    };
    const FitResult first = fit(m, opt, kRoles, d.tr(), d.va(), o);
    REQUIRE(first.status == FitStatus::Interrupted);
    REQUIRE(first.steps == 11);
  }
  Checkpoint c = load_checkpoint(ckpt);
  std::unique_ptr<Optimizer<float>> opt = make_optimizer(c.model, c.state.optimizer);
  FitOptions o = resume_options(c.state);
  o.progress = Progress::Off;
  o.eval_batch = 64;
  o.resume = &c.state;
  const FitResult rest = fit(c.model, *opt, kRoles, d.tr(), d.va(), o);
  REQUIRE(rest.steps == full.steps);
  CHECK(same_bits(c.model.parameters, straight.parameters));
  REQUIRE(rest.history.size() == 3);
  CHECK(rest.history.back().train_loss == full.history.back().train_loss);
}
