// fit must not lose a user's work, nor misreport it: divergence stops the run at the step
// it appears and keeps the last good checkpoint; a resumed run's log agrees with its
// checkpoint; bad data is named by the example's index in its set, before the first step;
// an epoch's loss is the mean over its examples, the shorter last batch weighted by its
// size; output paths are checked before any work (cli/output_paths.hpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli/output_paths.hpp"
#include "core/errors.hpp"
#include "datasets/circle.hpp"
#include "engine/evaluate.hpp"
#include "engine/executor.hpp"
#include "engine/fit.hpp"
#include "engine/train_log.hpp"
#include "tests/error_message.hpp"
#include "tests/example_graphs.hpp"
#include "tests/temp_dir.hpp"

using namespace plangrad;
using plangrad::testing::small_classifier;
using Catch::Matchers::Contains;

namespace {

FitOptions quiet(std::int64_t epochs, std::size_t batch) {
  FitOptions o;
  o.epochs = epochs;
  o.batch = batch;
  o.seed = 1;
  o.progress = Progress::Off;
  return o;
}

bool all_finite(const Model& m) {
  for (const auto& [name, p] : m.parameters)
    for (const float v : p)
      if (!std::isfinite(v)) return false;
  return true;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// The epochs of a log's lines, each line checked to be one JSON object.
std::vector<std::int64_t> log_epochs(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::int64_t> epochs;
  for (std::string line; std::getline(in, line);) epochs.push_back(nlohmann::json::parse(line).at("epoch"));
  return epochs;
}

const ValueRoles kRoles{"x", "labels", "loss", "logits"};

}  // namespace

TEST_CASE("fit: a loss that is not finite stops the run at its step; the last checkpoint stays the good one",
          "[fit][diverge]") {
  testing::TempDir dir;
  const CircleData train = make_circle(100, 1);  // 4 steps of 25 per epoch
  Model model = small_classifier(1);
  SGD<float> sgd(model, {0.1});
  FitOptions o = quiet(5, 25);
  // Epochs 1 and 2 at 0.1; from epoch 3 a rate no float holds: epoch 3's first step (step
  // 9) computes a finite loss and makes the weights infinite, so step 10's loss is NaN.
  o.lr_schedule = [](double base, std::int64_t epoch) { return epoch < 2 ? base : 1e39; };
  o.lr_schedule_name = "test";
  o.log_path = dir.file("run.jsonl");
  std::vector<Model> saved;
  o.checkpoint = [&](const Model& m, const TrainingState&) { saved.push_back(m); };
  int epoch_ends = 0;
  o.on_epoch_end = [&](const EpochStats&) {
    ++epoch_ends;
    return true;
  };
  try {
    fit(model, sgd, kRoles, {train.points.data(), train.labels.data(), 100}, {}, o);
    FAIL("fit returned");
  } catch (const TrainingDiverged& e) {
    CHECK(e.epoch == 3);
    CHECK(e.step == 10);
    CHECK(std::isnan(e.loss));
    CHECK(e.epochs_done == 2);
    CHECK_THAT(e.what(), Contains("training diverged at epoch 3, step 10 (loss = nan)"));
  }
  CHECK(epoch_ends == 2);
  REQUIRE(saved.size() == 2);  // epochs 1 and 2; nothing after the divergence
  CHECK(all_finite(saved.back()));
  CHECK(log_epochs(o.log_path) == std::vector<std::int64_t>{1, 2});
}

TEST_CASE("fit: a weight that is not finite at an epoch's end is divergence, though a relu hides it from the loss",
          "[fit][diverge]") {
  const CircleData train = make_circle(100, 1);
  Model model = small_classifier(1);
  SGD<float> sgd(model, {0.1});
  FitOptions o = quiet(3, 25);
  int checkpoints = 0;
  o.checkpoint = [&](const Model&, const TrainingState&) { ++checkpoints; };
  // After epoch 1, a NaN bias in the first hidden layer: relu(NaN) is 0, so every loss of
  // epoch 2 stays finite, and the bias's gradient is 0, so the NaN stays.
  o.on_epoch_end = [&](const EpochStats& s) {
    if (s.epoch == 1) model.parameter("fc1.bias")(3) = std::numeric_limits<float>::quiet_NaN();
    return true;
  };
  try {
    fit(model, sgd, kRoles, {train.points.data(), train.labels.data(), 100}, {}, o);
    FAIL("fit returned");
  } catch (const TrainingDiverged& e) {
    CHECK(e.epoch == 2);
    CHECK(e.step == 8);
    CHECK(std::isfinite(e.loss));
    CHECK_THAT(e.what(), Contains("parameter 'fc1.bias' holds nan at index 3"));
  }
  CHECK(checkpoints == 1);
}

TEST_CASE("fit: a model that is not finite before the first step is a DataError naming the value", "[fit][diverge]") {
  const CircleData train = make_circle(100, 1);
  Model model = small_classifier(1);
  model.parameter("logits.weight")(1, 0) = std::numeric_limits<float>::infinity();
  SGD<float> sgd(model, {0.1});
  CHECK_THROWS_WITH(fit(model, sgd, kRoles, {train.points.data(), train.labels.data(), 100}, {}, quiet(1, 25)),
                    Contains("before the first step") && Contains("parameter 'logits.weight' holds inf at index 2"));
  CHECK(sgd.step_count() == 0);
}

TEST_CASE("fit: an epoch's loss is the mean over its examples, the shorter last batch weighted by its size",
          "[fit]") {
  // 100 = 3 * 32 + 4. A learning rate of 0 keeps the model fixed, so the epoch's loss must
  // be the plain mean of the 100 per-example losses, computed here from the logits of one
  // inference run.
  const CircleData train = make_circle(100, 3);
  Model model = small_classifier(2);
  const Model before = model;
  SGD<float> sgd(model, {0.1});
  FitOptions o = quiet(1, 32);
  o.lr_schedule = [](double, std::int64_t) { return 0.0; };
  o.lr_schedule_name = "zero";
  const FitResult r = fit(model, sgd, kRoles, {train.points.data(), train.labels.data(), 100}, {}, o);
  REQUIRE(r.steps == 4);
  for (const auto& [name, p] : before.parameters) {
    const bool unchanged = model.parameter(name) == p;
    REQUIRE(unchanged);
  }

  PlanRequest request;
  request.outputs = {"logits"};
  request.batch = 100;
  Executor<float> exec(model, make_plan(model.graph, request));
  exec.set_input("x", train.points.data(), train.points.size());
  exec.run();
  const TensorRef<const float> z = exec.value("logits");
  double sum = 0;
  for (std::size_t i = 0; i < 100; ++i) {
    const double a = z[2 * i], b = z[2 * i + 1], m = std::max(a, b);
    const double lse = m + std::log(std::exp(a - m) + std::exp(b - m));
    sum += lse - (train.labels(i) == 1.0f ? b : a);
  }
  CHECK(r.history[0].train_loss == Approx(sum / 100).epsilon(1e-6));
}

TEST_CASE("fit: a bad label is named by its example's index and its file, before the first step", "[fit][data]") {
  const CircleData train = make_circle(100, 1), test = make_circle(20, 2);
  Tensor<float> labels = train.labels, val_labels = test.labels;
  Model model = small_classifier(1);
  SGD<float> sgd(model, {0.1});
  int epochs = 0;
  FitOptions o = quiet(1, 25);
  o.on_epoch_end = [&](const EpochStats&) {
    ++epochs;
    return true;
  };
  const auto message = [&](const ValueRoles& roles, const DataView& tr, const DataView& va) {
    return testing::error_message<DataError>([&] { fit(model, sgd, roles, tr, va, o); });
  };

  SECTION("training labels: against the logits' classes, or the softmax_cross_entropy's without logits") {
    labels(37) = 2;
    const DataView tr(train.points.data(), labels.data(), 100, "train-labels.idx");
    for (const ValueRoles& roles : {kRoles, ValueRoles{"x", "labels", "loss", ""}})
      CHECK_THAT(message(roles, tr, {}),
                 Contains("fit: the training data: example 37 of train-labels.idx: label 2 is not a class index in [0, 2)"));
    labels(37) = 0.5f;
    CHECK_THAT(message(kRoles, tr, {}), Contains("example 37 of train-labels.idx: label 0.5 is not"));
  }
  SECTION("validation labels") {
    val_labels(11) = -1;
    CHECK_THAT(message(kRoles, {train.points.data(), labels.data(), 100},
                       {test.points.data(), val_labels.data(), 20, "t10k-labels.idx"}),
               Contains("fit: the validation data: example 11 of t10k-labels.idx: label -1 is not a class index"));
  }
  SECTION("a training feature that is not finite") {
    Tensor<float> points = train.points;
    points(64, 1) = std::numeric_limits<float>::quiet_NaN();
    CHECK_THAT(message(kRoles, {points.data(), labels.data(), 100}, {}),
               Contains("fit: the training data: example 64: feature 1 is nan"));
  }
  CHECK(sgd.step_count() == 0);
  CHECK(epochs == 0);
}

TEST_CASE("evaluate: a bad label is named by its example's index and its file", "[evaluate][data]") {
  const CircleData test = make_circle(20, 2);
  Tensor<float> labels = test.labels;
  labels(13) = 7;
  const Model model = small_classifier(1);
  CHECK_THAT(testing::error_message<DataError>(
                 [&] { evaluate(model, kRoles, {test.points.data(), labels.data(), 20, "labels.idx"}, 8); }),
             Contains("evaluate: example 13 of labels.idx: label 7 is not a class index in [0, 2)"));
}

TEST_CASE("truncate_train_log: cut back to the checkpoint's epochs and a partial last line", "[fit][log]") {
  testing::TempDir dir;
  const std::string path = dir.file("run.jsonl");
  const std::string l1 = "{\"epoch\":1,\"loss\":0.5}\n", l2 = "{\"epoch\":2,\"loss\":0.4}\n",
                    l3 = "{\"epoch\":3,\"loss\":0.3}\n";
  write(path, l1 + l2 + l3 + "{\"epoch\":4,\"lo");
  CHECK(truncate_train_log(path, 2) == 2);
  CHECK(read(path) == l1 + l2);
  CHECK(truncate_train_log(path, 2) == 0);
  CHECK(read(path) == l1 + l2);
  CHECK(truncate_train_log(path, 0) == 2);
  CHECK(read(path).empty());
  write(path, l1 + l2 + "{\"epoch\":3,\"lo");  // killed mid-write, every whole line kept
  CHECK(truncate_train_log(path, 5) == 1);
  CHECK(read(path) == l1 + l2);

  // Not a log (a model file named by mistake): refused, the file left as it was.
  const std::string model = "{\n  \"format\": \"plangrad-model\"\n}\n";
  write(path, model);
  CHECK_THAT(testing::error_message<DataError>([&] { truncate_train_log(path, 0); }),
             Contains(path + ": line 1 is not a line of a training log"));
  CHECK(read(path) == model);

  CHECK(truncate_train_log(dir.file("missing.jsonl"), 3) == 0);
  CHECK_FALSE(std::filesystem::exists(dir.file("missing.jsonl")));
  CHECK(truncate_train_log("/dev/null", 0) == 0);
}

TEST_CASE("fit: a run resumed after a kill between an epoch's log line and its checkpoint logs each epoch once",
          "[fit][log]") {
  testing::TempDir dir;
  const CircleData train = make_circle(100, 1);
  const DataView data{train.points.data(), train.labels.data(), 100};
  Model model = small_classifier(1);
  SGD<float> sgd(model, {0.1});
  FitOptions o = quiet(2, 25);
  o.log_path = dir.file("run.jsonl");
  // The checkpoint of epoch 1 survives; epoch 2's "was killed" before it was written.
  Model saved_model;
  TrainingState saved_state;
  o.checkpoint = [&](const Model& m, const TrainingState& s) {
    if (s.epochs_done == 1) saved_model = m, saved_state = s;
  };
  fit(model, sgd, kRoles, data, {}, o);
  REQUIRE(log_epochs(o.log_path) == std::vector<std::int64_t>{1, 2});

  SGD<float> resumed(saved_model, {0.1});
  FitOptions r = quiet(3, 25);
  r.log_path = o.log_path;
  r.resume = &saved_state;
  fit(saved_model, resumed, kRoles, data, {}, r);
  CHECK(log_epochs(o.log_path) == std::vector<std::int64_t>{1, 2, 3});
}

TEST_CASE("check_output_file: a folder that is missing, not a folder, or a path that is a folder", "[cli]") {
  testing::TempDir dir;
  const auto message = [](const std::string& flag, const std::string& path, WriteMode mode) -> std::string {
    try {
      check_output_file(flag, path, mode);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "<no UsageError>";
  };
  const std::string missing = dir.file("no-such-folder");
  CHECK(message("--out", missing + "/m.json", WriteMode::Replace) ==
        "--out " + missing + "/m.json: the folder " + missing + " does not exist");
  write(dir.file("file"), "x");
  CHECK(message("--log", dir.file("file") + "/run.jsonl", WriteMode::Open) ==
        "--log " + dir.file("file") + "/run.jsonl: " + dir.file("file") + " is not a folder");
  CHECK_THAT(message("--checkpoint", dir.path().string(), WriteMode::Replace), Contains("is a folder"));
  CHECK_THAT(message("--out", "/dev/null", WriteMode::Replace), Contains("not a regular file"));
  CHECK(message("--log", "/dev/null", WriteMode::Open) == "<no UsageError>");
  CHECK(message("--out", dir.file("m.json"), WriteMode::Replace) == "<no UsageError>");
  CHECK(message("--out", dir.file("file"), WriteMode::Replace) == "<no UsageError>");
  CHECK_THROWS_WITH(check_output_dir("--plot-data", missing), Contains("--plot-data " + missing));
  check_output_dir("--plot-data", dir.path().string());
  // The probe files are gone: the folder holds what the test wrote, nothing more.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("same_file: one file under two spellings", "[cli]") {
  testing::TempDir dir;
  CHECK(same_file(dir.file("a.json"), dir.file("sub/../a.json")));
  CHECK(same_file(dir.file("a.json"), (dir.path() / "." / "a.json").string()));
  CHECK_FALSE(same_file(dir.file("a.json"), dir.file("b.json")));
  std::filesystem::create_directory(dir.file("real"));
  std::filesystem::create_directory_symlink(dir.file("real"), dir.file("link"));
  CHECK(same_file(dir.file("real/c.json"), dir.file("link/c.json")));
}
