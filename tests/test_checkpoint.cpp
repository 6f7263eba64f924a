// Checkpoints: the training state's JSON round trip; and the key property -- training N
// epochs in one go, and training k, stopping, loading the checkpoint into fresh Model and
// Optimizer objects and finishing the N, give bit-identical weights (memcmp) and identical
// epoch statistics, for SGD with momentum, Adam and AdamW, stopped at an epoch end, by
// SIGINT at an epoch end, and by SIGINT in the middle of an epoch.
#include <csignal>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "datasets/circle.hpp"
#include "engine/builder.hpp"
#include "core/errors.hpp"
#include "engine/fit.hpp"
#include "engine/lr_schedule.hpp"
#include "serialization/checkpoint.hpp"
#include "serialization/model_json.hpp"
#include "tests/temp_dir.hpp"
#include "tests/example_graphs.hpp"

using namespace plangrad;
using plangrad::testing::small_classifier;
using Catch::Matchers::Contains;

namespace {

std::unique_ptr<Optimizer<float>> make(const std::string& kind, const Model& m) {
  if (kind == "sgd") return std::make_unique<SGD<float>>(m, SgdOptions{0.05, 0.9, 1e-4, true});
  if (kind == "adam") return std::make_unique<Adam<float>>(m, AdamOptions{0.01, 0.9, 0.999, 1e-8, 1e-4});
  return std::make_unique<AdamW<float>>(m, AdamWOptions{0.01});
}

// memcmp of every parameter and state tensor.
bool bit_identical(const Model& a, const Model& b) {
  auto same = [](const auto& x, const auto& y) {
    if (x.size() != y.size()) return false;
    for (const auto& [name, t] : x) {
      const auto it = y.find(name);
      if (it == y.end() || it->second.size() != t.size()) return false;
      if (std::memcmp(t.data(), it->second.data(), t.size() * sizeof(float)) != 0) return false;
    }
    return true;
  };
  return same(a.parameters, b.parameters) && same(a.state, b.state);
}

const FitRoles kRoles{"x", "labels", "loss", "logits"};

struct Data {
  CircleData train = make_circle(300, 21), val = make_circle(100, 22);
  FitData tr() const { return {train.points.data(), train.labels.data(), train.size()}; }
  FitData va() const { return {val.points.data(), val.labels.data(), val.size()}; }
};

FitOptions base_options() {
  FitOptions o;
  o.epochs = 6;
  o.batch = 32;  // 300 = 9 * 32 + 12: both training plans run
  o.seed = 5;
  o.eval_batch = 64;
  o.progress = Progress::Off;
  set_lr_schedule(o, LrSchedule::step(2, 0.5));
  return o;
}

}  // namespace

TEST_CASE("checkpoint: the training state round-trips through JSON exactly", "[checkpoint]") {
  const Data d;
  Model m = small_classifier(1);
  auto opt = make("adam", m);
  FitOptions o = base_options();
  o.epochs = 1;
  const FitResult r = fit(m, *opt, kRoles, d.tr(), d.va(), o);
  const TrainingState& st = r.state;
  CHECK(st.optimizer.kind == "adam");
  CHECK(st.steps == 10);
  const TrainingState back = training_state_from_json(nlohmann::json::parse(training_state_to_json(st).dump()), "<mem>");
  CHECK(back == st);

  SECTION("errors name the path") {
    nlohmann::json j = training_state_to_json(st);
    j["batches"]["rng"][2] = "xyz";
    CHECK_THROWS_WITH(training_state_from_json(j, "c.json"), Contains("c.json: /training/batches/rng/2: expected up to 16 hex"));
    j = training_state_to_json(st);
    j["optimizer"]["parameters"]["fc1.bias"].erase("started");
    CHECK_THROWS_WITH(training_state_from_json(j, "c.json"),
                      Contains("c.json: /training/optimizer/parameters/fc1.bias: missing key \"started\""));
    j = training_state_to_json(st);
    j["version"] = 99;
    CHECK_THROWS_WITH(training_state_from_json(j, "c.json"), Contains("newer"));
    CHECK_THROWS_AS(training_state_from_json(nlohmann::json(), "m.json"), FormatError);
  }
  SECTION("a plain model file is not a checkpoint") {
    testing::TempDir dir;
    save_model(m, dir.file("m.json"));
    CHECK_THROWS_WITH(load_checkpoint(dir.file("m.json")), Contains("not a checkpoint"));
  }
}

TEST_CASE("checkpoint: stop after k epochs, resume in fresh objects, finish N: bit-identical weights",
          "[checkpoint]") {
  const Data d;
  const std::string kind = GENERATE(std::string("sgd"), std::string("adam"), std::string("adamw"));
  const std::string how = GENERATE(std::string("callback"), std::string("sigint-epoch-end"), std::string("sigint-mid-epoch"));
  INFO(kind << ", stopped by " << how);

  // In one go.
  Model straight = small_classifier(3);
  std::unique_ptr<Optimizer<float>> straight_opt = make(kind, straight);
  const FitResult full = fit(straight, *straight_opt, kRoles, d.tr(), d.va(), base_options());
  REQUIRE(full.status == FitStatus::Completed);
  REQUIRE(full.history.size() == 6);

  testing::TempDir dir;
  const std::string ckpt = dir.file("run.ckpt.json");
  FitResult first;
  {
    Model m = small_classifier(3);
    std::unique_ptr<Optimizer<float>> opt = make(kind, m);
    FitOptions o = base_options();
    o.checkpoint = checkpoint_writer(ckpt);
    if (how == "callback") {
      o.on_epoch_end = [](const EpochStats& s) { return s.epoch < 2; };
    } else if (how == "sigint-epoch-end") {
      o.on_epoch_end = [](const EpochStats& s) {
        if (s.epoch == 2) std::raise(SIGINT);
        return true;
      };
    } else {
      // The schedule is asked for epoch 2's rate (from 0) before its first step: the flag is
      // then up during that step, and the run stops after it, mid-epoch.
      const LrSchedule s = LrSchedule::step(2, 0.5);
      o.lr_schedule = [s](double base, std::int64_t epoch) {
        if (epoch == 2) std::raise(SIGINT);
        return s.lr(base, epoch);
      };
    }
    first = fit(m, *opt, kRoles, d.tr(), d.va(), o);
  }
  REQUIRE(std::filesystem::exists(ckpt));
  if (how == "callback") {
    REQUIRE(first.status == FitStatus::Stopped);
  } else {
    REQUIRE(first.status == FitStatus::Interrupted);
  }
  if (how == "sigint-mid-epoch") {
    REQUIRE(first.epochs_done == 2);
    REQUIRE(first.steps == 2 * 10 + 1);
  } else {
    REQUIRE(first.epochs_done == 2);
    REQUIRE(first.steps == 20);
  }
  // Not yet where the straight run ends.
  Checkpoint c = load_checkpoint(ckpt);
  CHECK_FALSE(bit_identical(c.model, straight));
  CHECK(c.state == first.state);

  // Fresh objects from the file alone.
  std::unique_ptr<Optimizer<float>> opt = make_optimizer(c.model, c.state.optimizer);
  FitOptions o = resume_options(c.state);
  o.progress = Progress::Off;
  o.eval_batch = 64;
  o.resume = &c.state;
  o.checkpoint = checkpoint_writer(ckpt);
  const FitResult rest = fit(c.model, *opt, kRoles, d.tr(), d.va(), o);
  REQUIRE(rest.status == FitStatus::Completed);
  REQUIRE(rest.epochs_done == 6);
  REQUIRE(rest.steps == full.steps);
  REQUIRE(rest.history.size() == 4);

  CHECK(bit_identical(c.model, straight));
  CHECK(opt->state() == straight_opt->state());
  for (std::size_t i = 0; i < 4; ++i) {
    const EpochStats &a = rest.history[i], &b = full.history[i + 2];
    CHECK(a.epoch == b.epoch);
    CHECK(a.train_loss == b.train_loss);
    CHECK(a.train_accuracy == b.train_accuracy);
    CHECK(a.val_loss == b.val_loss);
    CHECK(a.val_accuracy == b.val_accuracy);
    CHECK(a.lr == b.lr);
  }
  // The last checkpoint holds the final weights too.
  CHECK(bit_identical(load_checkpoint(ckpt).model, straight));
}

TEST_CASE("checkpoint: resuming with other options is refused", "[checkpoint]") {
  const Data d;
  testing::TempDir dir;
  Model m = small_classifier(1);
  auto opt = make("sgd", m);
  FitOptions o = base_options();
  o.epochs = 1;
  o.checkpoint = checkpoint_writer(dir.file("c.json"));
  fit(m, *opt, kRoles, d.tr(), d.va(), o);
  Checkpoint c = load_checkpoint(dir.file("c.json"));
  auto opt2 = make_optimizer(c.model, c.state.optimizer);
  FitOptions r = resume_options(c.state);
  r.progress = Progress::Off;
  r.resume = &c.state;
  r.batch = 16;
  CHECK_THROWS_WITH(fit(c.model, *opt2, kRoles, d.tr(), d.va(), r), Contains("batch 32"));
  r = resume_options(c.state);
  r.progress = Progress::Off;
  r.resume = &c.state;
  set_lr_schedule(r, LrSchedule::cosine(6));
  CHECK_THROWS_WITH(fit(c.model, *opt2, kRoles, d.tr(), d.va(), r), Contains("schedule"));
  r = resume_options(c.state);
  r.progress = Progress::Off;
  r.resume = &c.state;
  const CircleData other = make_circle(200, 1);
  CHECK_THROWS_WITH(fit(c.model, *opt2, kRoles, {other.points.data(), other.labels.data(), 200}, d.va(), r),
                    Contains("300 training examples"));
}
