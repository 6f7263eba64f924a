// fit: the training loop on the circle task, with one-hot MSE targets and with class
// labels (softmax cross-entropy, a shorter last batch); its validation numbers against
// evaluate(); a one-logit model's accuracy by the logit's sign; determinism; the JSONL log
// and its write errors; the progress lines; callbacks, early stopping, schedules, SIGINT;
// and the errors for roles and options that do not fit.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/batches.hpp"
#include "datasets/circle.hpp"
#include "engine/builder.hpp"
#include "core/errors.hpp"
#include "engine/evaluate.hpp"
#include "engine/fit.hpp"
#include "engine/lr_schedule.hpp"
#include "engine/progress.hpp"
#include "engine/train_log.hpp"
#include "tests/temp_dir.hpp"
#include "tests/example_graphs.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using plangrad::testing::same_bits;
using plangrad::testing::small_classifier;
using Catch::Matchers::Contains;

namespace {

// 2-16-16-2, ReLU, tanh output, MSE against one-hot targets "y" [N, 2].
Model mse_mlp(std::uint64_t seed) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2}), y = b.input("y", {kBatchDim, 2});
  Value h = b.relu(b.dense(x, 16, "fc1"));
  h = b.relu(b.dense(h, 16, "fc2"));
  Value out = b.tanh(b.dense(h, 2, "fc3"), "out");
  b.output(b.mse_loss(out, y, "loss"));
  b.output(out);
  return b.build(seed);
}

bool same_parameters(const Model& a, const Model& b) { return same_bits(a.parameters, b.parameters); }

FitOptions quiet(std::int64_t epochs, std::size_t batch, std::uint64_t seed) {
  FitOptions o;
  o.epochs = epochs;
  o.batch = batch;
  o.seed = seed;
  o.progress = Progress::Off;
  return o;
}

}  // namespace

TEST_CASE("fit: the circle MLP with one-hot MSE targets learns", "[fit]") {
  const CircleData train = make_circle(1000, 1), test = make_circle(500, 2);
  const Tensor<float> train_y = one_hot(train.labels, 2), test_y = one_hot(test.labels, 2);
  Model model = mse_mlp(1);
  SGD<float> sgd(model, {0.1, 0.9, 0.0});
  const FitResult r = fit(model, sgd, {"x", "y", "loss", "out"}, {train.points.data(), train_y.data(), 1000},
                          {test.points.data(), test_y.data(), 500}, quiet(40, 50, 3));
  REQUIRE(r.status == FitStatus::Completed);
  REQUIRE(r.epochs_done == 40);
  REQUIRE(r.steps == 40 * 20);
  REQUIRE(r.history.size() == 40);
  CHECK(r.history.back().train_loss < 0.5 * r.history.front().train_loss);
  CHECK(r.history.back().val_accuracy > 0.9);
  CHECK(r.history.back().train_accuracy > 0.9);
  CHECK(r.history.back().epoch == 40);
  CHECK(r.history.back().lr == 0.1);
  CHECK(r.history.back().steps == 800);
}

TEST_CASE("fit: class labels, a shorter last batch, validation equals evaluate()", "[fit]") {
  const CircleData train = make_circle(1000, 5), test = make_circle(300, 6);
  Model model = small_classifier(4);
  Adam<float> adam(model, AdamOptions{0.01});
  FitOptions o = quiet(15, 64, 7);  // 1000 = 15 * 64 + 40
  o.eval_batch = 128;               // 300 = 2 * 128 + 44
  const FitResult r = fit(model, adam, {"x", "labels", "loss", "logits"}, {train.points.data(), train.labels.data(), 1000},
                          {test.points.data(), test.labels.data(), 300}, o);
  REQUIRE(r.steps == 15 * 16);
  CHECK(r.history.back().val_accuracy > 0.9);
  const EvalResult e = evaluate(model, test.points.data(), test.labels.data(), 300, 300);
  CHECK(r.history.back().val_accuracy == e.accuracy);
  CHECK(r.history.back().val_loss == Approx(e.loss).epsilon(1e-6));

  SECTION("drop_last skips the short batch") {
    Model m2 = small_classifier(4);
    Adam<float> adam2(m2, AdamOptions{0.01});
    FitOptions d = quiet(2, 64, 7);
    d.drop_last = true;
    const FitResult r2 = fit(m2, adam2, {"x", "labels", "loss", ""}, {train.points.data(), train.labels.data(), 1000},
                             {}, d);
    CHECK(r2.steps == 2 * 15);
    CHECK(std::isnan(r2.history.back().train_accuracy));
    CHECK(std::isnan(r2.history.back().val_loss));
  }
}

TEST_CASE("fit: the same seed gives bit-identical weights; another seed does not", "[fit]") {
  const CircleData train = make_circle(300, 11);
  auto run = [&](std::uint64_t seed) {
    Model m = small_classifier(2);
    SGD<float> sgd(m, {0.05, 0.9, 1e-4});
    fit(m, sgd, {"x", "labels", "loss", "logits"}, {train.points.data(), train.labels.data(), 300}, {},
        quiet(3, 32, seed));
    return m;
  };
  const Model a = run(1), b = run(1), c = run(2);
  CHECK(same_parameters(a, b));
  CHECK_FALSE(same_parameters(a, c));
}

TEST_CASE("fit: the JSONL log has one line per epoch", "[fit]") {
  testing::TempDir dir;
  const CircleData train = make_circle(200, 1), test = make_circle(100, 2);
  Model model = small_classifier(1);
  SGD<float> sgd(model, {0.1});
  FitOptions o = quiet(4, 50, 1);
  o.log_path = dir.file("run.jsonl");
  set_lr_schedule(o, LrSchedule::step(2, 0.5));
  const FitResult r = fit(model, sgd, {"x", "labels", "loss", "logits"}, {train.points.data(), train.labels.data(), 200},
                          {test.points.data(), test.labels.data(), 100}, o);
  std::ifstream in(o.log_path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(lines[i]["epoch"] == i + 1);
    CHECK(lines[i]["loss"].get<double>() == r.history[i].train_loss);
    CHECK(lines[i]["val_accuracy"].get<double>() == r.history[i].val_accuracy);
    CHECK(lines[i]["train_accuracy"].is_number());
    CHECK(lines[i]["seconds"].is_number());
  }
  CHECK(lines[0]["lr"] == 0.1);
  CHECK(lines[1]["lr"] == 0.1);
  CHECK(lines[2]["lr"] == 0.05);
  CHECK(lines[3]["lr"] == 0.05);
  CHECK(sgd.learning_rate() == 0.05);
}

TEST_CASE("fit: a callback stops the run; patience stops it early", "[fit]") {
  const CircleData train = make_circle(200, 1), test = make_circle(100, 2);
  const ValueRoles roles{"x", "labels", "loss", "logits"};
  const DataView tr{train.points.data(), train.labels.data(), 200}, va{test.points.data(), test.labels.data(), 100};

  SECTION("callback") {
    Model model = small_classifier(1);
    SGD<float> sgd(model, {0.1});
    FitOptions o = quiet(10, 50, 1);
    std::vector<std::int64_t> seen;
    o.on_epoch_end = [&](const EpochStats& s) {
      seen.push_back(s.epoch);
      return s.epoch < 3;
    };
    const FitResult r = fit(model, sgd, roles, tr, va, o);
    CHECK(r.status == FitStatus::Stopped);
    CHECK(r.epochs_done == 3);
    CHECK(seen == std::vector<std::int64_t>{1, 2, 3});
  }
  SECTION("patience: a learning rate too small to change a weight never improves the loss") {
    Model model = small_classifier(1);
    SGD<float> sgd(model, {0.1});
    FitOptions o = quiet(10, 50, 1);
    o.patience = 2;
    o.lr_schedule = [](double, std::int64_t) { return 1e-30; };
    o.lr_schedule_name = "tiny";
    const FitResult r = fit(model, sgd, roles, tr, va, o);
    CHECK(r.status == FitStatus::EarlyStopped);
    CHECK(r.epochs_done == 3);
    CHECK(r.state.epochs_without_improvement == 2);
  }
}

TEST_CASE("fit: SIGINT finishes the step, checkpoints and returns Interrupted; the handler is put back",
          "[fit]") {
  const CircleData train = make_circle(200, 1);
  Model model = small_classifier(1);
  SGD<float> sgd(model, {0.1});
  FitOptions o = quiet(10, 50, 1);
  int checkpoints = 0;
  TrainingState last;
  o.checkpoint = [&](const Model&, const TrainingState& s) {
    ++checkpoints;
    last = s;
  };
  o.on_epoch_end = [](const EpochStats& s) {
    if (s.epoch == 2) std::raise(SIGINT);
    return true;
  };
  struct sigaction before {};
  sigaction(SIGINT, nullptr, &before);
  const FitResult r = fit(model, sgd, {"x", "labels", "loss", "logits"}, {train.points.data(), train.labels.data(), 200},
                          {}, o);
  CHECK(r.status == FitStatus::Interrupted);
  CHECK(r.epochs_done == 2);
  CHECK(checkpoints == 2);
  CHECK(last == r.state);
  CHECK(last.batches.epoch == 2);
  CHECK(last.batches.position == 0);
  struct sigaction after {};
  sigaction(SIGINT, nullptr, &after);
  CHECK(after.sa_handler == before.sa_handler);
}

TEST_CASE("fit: roles and options that do not fit are UsageErrors naming them", "[fit]") {
  const CircleData train = make_circle(100, 1);
  Model model = small_classifier(1);
  SGD<float> sgd(model, {0.1});
  const DataView tr{train.points.data(), train.labels.data(), 100};
  auto message = [&](ValueRoles roles, FitOptions o) -> std::string {
    try {
      fit(model, sgd, roles, tr, {}, o);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "<no UsageError>";
  };
  const ValueRoles good{"x", "labels", "loss", "logits"};
  CHECK_THAT(message({"nope", "labels", "loss", ""}, quiet(1, 10, 1)), Contains("'nope' is not an input"));
  CHECK_THAT(message({"x", "logits", "loss", ""}, quiet(1, 10, 1)), Contains("'logits' is not an input"));
  CHECK_THAT(message(good, quiet(0, 10, 1)), Contains("epochs"));
  CHECK_THAT(message(good, quiet(1, 0, 1)), Contains("batch"));
  FitOptions d = quiet(1, 200, 1);
  d.drop_last = true;
  CHECK_THAT(message(good, d), Contains("drop_last"));
  FitOptions s = quiet(1, 10, 1);
  s.lr_schedule_name = "step:2";
  CHECK_THAT(message(good, s), Contains("no function"));
  CHECK_THAT(message({"x", "labels", "loss", "loss"}, quiet(1, 10, 1)), Contains("must be [N, classes]"));
}

TEST_CASE("fit: a one-logit model's accuracy is the logit's sign, in training and validation", "[fit]") {
  // x [N, 2] -> "logit" [N, 1] = x0 - x1 against 0/1 targets "y" [N, 1]. A learning rate
  // too small to change a weight keeps the logits as set, so the counts are known.
  Model model = testing::one_logit_classifier(/*labels_input=*/false);
  // Logits +2, -1, +1, -3, +0.5 with labels 1, 0, 0, 1, 0: right, right, wrong, wrong,
  // wrong: 2/5, where class 0 for every row would score 3/5. Validation adds logit -4 with
  // label 0: 3/6 against 4/6.
  const std::vector<float> features = {2, 0, 0, 1, 1, 0, 0, 3, 1, 0.5f};
  const std::vector<float> targets = {1, 0, 0, 1, 0};
  const std::vector<float> val_features = {2, 0, 0, 1, 1, 0, 0, 3, 1, 0.5f, 0, 4};
  const std::vector<float> val_targets = {1, 0, 0, 1, 0, 0};
  SGD<float> sgd(model, {1e-30});
  const FitResult r = fit(model, sgd, {"x", "y", "loss", "logit"}, {features.data(), targets.data(), 5},
                          {val_features.data(), val_targets.data(), 6}, quiet(1, 2, 1));
  CHECK(r.history.back().train_accuracy == Approx(2.0 / 5.0).epsilon(1e-12));
  CHECK(r.history.back().val_accuracy == Approx(3.0 / 6.0).epsilon(1e-12));
}

TEST_CASE("fit: a log that cannot be written is a DataError naming it", "[fit]") {
  const CircleData train = make_circle(100, 1);
  Model model = small_classifier(1);
  SGD<float> sgd(model, {0.1});
  FitOptions o = quiet(2, 50, 1);
  o.log_path = "/dev/full";  // opens, and every write fails with ENOSPC
  CHECK_THROWS_WITH(fit(model, sgd, {"x", "labels", "loss", "logits"},
                        {train.points.data(), train.labels.data(), 100}, {}, o),
                    Contains("/dev/full") && Contains("cannot write"));
  o.log_path = "/nonexistent-dir/run.jsonl";
  CHECK_THROWS_AS(fit(model, sgd, {"x", "labels", "loss", "logits"}, {train.points.data(), train.labels.data(), 100},
                      {}, o),
                  DataError);
}

TEST_CASE("TrainLog: one JSON object per line, the documented keys in order, null for what was not measured",
          "[fit]") {
  EpochStats s;
  s.epoch = 3;
  s.train_loss = 0.5;
  s.train_accuracy = 0.875;
  s.lr = 0.1;
  s.seconds = 1.25;
  s.steps = 60;
  CHECK(train_log_line(s) ==
        "{\"epoch\":3,\"loss\":0.5,\"train_accuracy\":0.875,\"val_loss\":null,\"val_accuracy\":null,"
        "\"lr\":0.1,\"seconds\":1.25,\"steps\":60}");
  s.val_loss = 1.0 / 3.0;
  CHECK(nlohmann::json::parse(train_log_line(s))["val_loss"].get<double>() == 1.0 / 3.0);  // reads back exactly

  testing::TempDir dir;
  {
    TrainLog log(dir.file("a.jsonl"), false);
    log.write(s);
    log.write(s);
    log.close();
  }
  {
    TrainLog log(dir.file("a.jsonl"), true);  // a resumed run appends
    log.write(s);
  }
  std::ifstream in(dir.file("a.jsonl"));
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) CHECK(line == train_log_line(s));
  CHECK(lines == 3);

  TrainLog full("/dev/full", false);
  CHECK_THROWS_WITH(full.write(s), Contains("/dev/full") && Contains("No space left"));
}

TEST_CASE("ProgressPrinter: one line per epoch, nothing when off", "[fit]") {
  EpochStats s;
  s.epoch = 2;
  s.train_loss = 0.25;
  s.val_accuracy = 0.5;
  s.lr = 0.01;
  s.seconds = 1.5;
  auto printed = [&](Progress mode) {
    std::FILE* f = std::tmpfile();
    REQUIRE(f);
    ProgressPrinter p(mode, 10, f);
    p.start_epoch(2, 100, 0);
    p.step(50, 12.5);
    p.epoch_end(s);
    p.early_stopped(3);
    std::rewind(f);
    std::string text;
    for (int c; (c = std::fgetc(f)) != EOF;) text += static_cast<char>(c);
    std::fclose(f);
    return text;
  };
  CHECK(printed(Progress::Lines) ==
        "epoch 2/10  loss 0.25000  val_acc 0.5000  lr 0.01  1.50s\n"
        "early stopping: no improvement for 3 epochs\n");
  CHECK(printed(Progress::Off).empty());
  CHECK(printed(Progress::Auto) == printed(Progress::Lines));  // a file is not a terminal
}
