// Checkpoints: the training state's JSON round trip; and the key property -- training N
// epochs in one go, and training k, stopping, loading the checkpoint into fresh Model and
// Optimizer objects and finishing the N, give bit-identical weights (memcmp) and identical
// epoch statistics, for SGD with momentum, Adam and AdamW, stopped at an epoch end, by
// SIGINT at an epoch end, and by SIGINT in the middle of an epoch. The optimizer object's
// format and errors; and checkpoint files of format version 1 (tests/fixtures/) still load,
// resume and are written back byte for byte.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "datasets/circle.hpp"
#include "engine/builder.hpp"
#include "core/errors.hpp"
#include "engine/fit.hpp"
#include "engine/lr_schedule.hpp"
#include "serialization/checkpoint_json.hpp"
#include "serialization/json_reader.hpp"
#include "serialization/model_json.hpp"
#include "serialization/optimizer_state.hpp"
#include "tests/temp_dir.hpp"
#include "tests/example_graphs.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using plangrad::testing::same_bits;
using plangrad::testing::small_classifier;
using plangrad::testing::read_text;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

std::unique_ptr<Optimizer<float>> make(const std::string& kind, const Model& m) {
  if (kind == "sgd") return std::make_unique<SGD<float>>(m, SgdOptions{0.05, 0.9, 1e-4, true});
  if (kind == "adam") return std::make_unique<Adam<float>>(m, AdamOptions{0.01, 0.9, 0.999, 1e-8, 1e-4});
  return std::make_unique<AdamW<float>>(m, AdamWOptions{0.01});
}

// Every parameter and state tensor, bit for bit.
bool bit_identical(const Model& a, const Model& b) {
  return same_bits(a.parameters, b.parameters) && same_bits(a.state, b.state);
}

const ValueRoles kRoles{"x", "labels", "loss", "logits"};

struct Data {
  CircleData train = make_circle(300, 21), val = make_circle(100, 22);
  DataView tr() const { return {train.points.data(), train.labels.data(), train.size()}; }
  DataView va() const { return {val.points.data(), val.labels.data(), val.size()}; }
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
  CHECK(std::string(st.optimizer.kind()) == "adam");
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
    // The very next version, so that an off-by-one in the check does not pass.
    j["version"] = kCheckpointFormatVersion + 1;
    CHECK_THROWS_WITH(training_state_from_json(j, "c.json"), Contains("c.json: /training/version") && Contains("newer"));
    j["version"] = kCheckpointFormatVersion;
    CHECK_NOTHROW(training_state_from_json(j, "c.json"));
    CHECK_THROWS_AS(training_state_from_json(nlohmann::json(), "m.json"), FormatError);
  }
  SECTION("values out of range are refused as strictly as flags, at their path") {
    nlohmann::json j = training_state_to_json(st);
    j["optimizer"]["learning_rate"] = -5.0;
    CHECK_THROWS_WITH(training_state_from_json(j, "c.json"), Contains("c.json: /training/optimizer/options") &&
                                                                 Contains("lr must be positive, got -5"));
    j = training_state_to_json(st);
    j["optimizer"]["options"]["beta1"] = 5.0;
    CHECK_THROWS_WITH(training_state_from_json(j, "c.json"), Contains("c.json: /training/optimizer/options") &&
                                                                 Contains("beta1"));
    j = training_state_to_json(st);
    j["options"]["batch"] = 0;
    CHECK_THROWS_WITH(training_state_from_json(j, "c.json"), Contains("c.json: /training/options/batch: the batch size must be at least 1"));
    j = training_state_to_json(st);
    j["options"]["base_lr"] = 0.0;
    CHECK_THROWS_WITH(training_state_from_json(j, "c.json"), Contains("c.json: /training/options/base_lr"));
    j = training_state_to_json(st);
    j["batches"]["batch_size"] = 7;
    CHECK_THROWS_WITH(training_state_from_json(j, "c.json"), Contains("c.json: /training/batches/batch_size"));
    j = training_state_to_json(st);
    j["batches"]["position"] = 100000;
    CHECK_THROWS_WITH(training_state_from_json(j, "c.json"), Contains("c.json: /training/batches/position"));
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

namespace {

std::string format_message(const json& optimizer) {
  try {
    (void)optimizer_state_from_json(JsonReader(optimizer, "c.json", "/training/optimizer"));
  } catch (const FormatError& e) {
    return e.what();
  }
  return "<no FormatError thrown>";
}

}  // namespace

TEST_CASE("checkpoint: the optimizer object reads and writes the documented format", "[checkpoint]") {
  // nesterov is a number, as every option is.
  const json sgd = json::parse(R"({"kind": "sgd", "step": 3, "learning_rate": 0.05,
      "options": {"momentum": 0.9, "nesterov": 1.0, "weight_decay": 0.0001},
      "parameters": {"b": {"started": false, "buffers": {"momentum_buffer": [0.0]}},
                     "w": {"started": true, "buffers": {"momentum_buffer": [0.5, -0.25]}}}})");
  const OptimizerState s = optimizer_state_from_json(JsonReader(sgd, "c.json", "/training/optimizer"));
  CHECK(s.options == OptimizerOptions{SgdOptions{0.05, 0.9, 0.0001, true}});
  CHECK(s.step == 3);
  CHECK(s.parameters.at("w").started);
  CHECK_FALSE(s.parameters.at("b").started);
  CHECK(s.parameters.at("w").buffers.at("momentum_buffer") == std::vector<double>{0.5, -0.25});
  CHECK(optimizer_state_to_json(s).dump() == sgd.dump());

  const json adamw = json::parse(R"({"kind": "adamw", "step": 0, "learning_rate": 0.001,
      "options": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-08, "weight_decay": 0.01},
      "parameters": {"w": {"started": false, "buffers": {"exp_avg": [0.0], "exp_avg_sq": [0.0]}}}})");
  const OptimizerState a = optimizer_state_from_json(JsonReader(adamw, "c.json", "/training/optimizer"));
  CHECK(a.options == OptimizerOptions{AdamWOptions{}});
  CHECK(optimizer_state_to_json(a).dump() == adamw.dump());
  json adam = adamw;
  adam["kind"] = "adam";
  CHECK(optimizer_state_from_json(JsonReader(adam, "c.json", "/training/optimizer")).options ==
        OptimizerOptions{AdamOptions{0.001, 0.9, 0.999, 1e-8, 0.01}});

  SECTION("what no optimizer takes is refused at its path") {
    json j = sgd;
    j["kind"] = "rmsprop";
    CHECK(format_message(j) == "c.json: /training/optimizer/kind: unknown optimizer 'rmsprop' (expected sgd, adam or adamw)");
    j = sgd;
    j["options"]["nesterov"] = 0.5;
    CHECK(format_message(j) == "c.json: /training/optimizer/options/nesterov: expected 0 or 1, got 0.5");
    j = sgd;
    j["options"]["nesterov"] = true;
    CHECK(format_message(j) == "c.json: /training/optimizer/options/nesterov: expected a number, got a boolean");
    j = sgd;
    j["options"].erase("weight_decay");
    CHECK(format_message(j) == "c.json: /training/optimizer/options: missing key \"weight_decay\"");
    j = adamw;
    j["options"]["momentum"] = 0.9;
    CHECK(format_message(j) == "c.json: /training/optimizer/options/momentum: unknown key \"momentum\"");
    j = adamw;
    j["options"]["beta1"] = "0.9";
    CHECK(format_message(j) == "c.json: /training/optimizer/options/beta1: expected a number, got a string");
    j = sgd;
    j["step"] = -1;
    CHECK(format_message(j) == "c.json: /training/optimizer/step: expected an integer >= 0, got -1");
    j = sgd;
    j["parameters"]["w"]["buffers"]["momentum_buffer"][1] = "x";
    CHECK(format_message(j) ==
          "c.json: /training/optimizer/parameters/w/buffers/momentum_buffer/1: expected a number, got a string");
  }
}

// Made by the checkpoint writer before the optimizer options were typed (a 2-2 softmax
// classifier, one epoch of two on make_circle(10, 3), batch 4; SGD with Nesterov momentum,
// and AdamW): they must load, resume and be written back byte for byte.
TEST_CASE("checkpoint: files of format version 1 load, resume and write back the same bytes", "[checkpoint]") {
  const std::string kind = GENERATE(std::string("sgd"), std::string("adamw"));
  INFO(kind);
  const std::string fixture =
      (std::filesystem::path(__FILE__).parent_path() / "fixtures" / ("checkpoint-v1-" + kind + ".json")).string();
  const std::string text = read_text(fixture);
  REQUIRE_FALSE(text.empty());
  Checkpoint c = load_checkpoint(fixture);
  CHECK(c.state.optimizer.kind() == kind);
  CHECK(c.state.epochs_done == 1);
  testing::TempDir dir;
  save_checkpoint(dir.file("again.json"), c.model, c.state);
  CHECK(read_text(dir.file("again.json")) == text);

  std::unique_ptr<Optimizer<float>> opt = make_optimizer(c.model, c.state.optimizer);
  FitOptions o = resume_options(c.state);
  o.progress = Progress::Off;
  o.eval_batch = 4;
  o.resume = &c.state;
  const CircleData train = make_circle(10, 3), val = make_circle(4, 4);
  const FitResult r = fit(c.model, *opt, kRoles, {train.points.data(), train.labels.data(), train.size()},
                          {val.points.data(), val.labels.data(), val.size()}, o);
  CHECK(r.status == FitStatus::Completed);
  CHECK(r.epochs_done == 2);
}
