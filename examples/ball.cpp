// The ball task of the seed papers (networks/ball.hpp): a point of [0, 1]^48, read as a
// 3x4x4 image, is labelled 1 when its distance from the centre is below 2. 1000 training
// and 1000 test points, as the circle task.
//
// --recipe paper (the only one): the network of models::ball_cnn (conv 3 -> 5, conv 5 -> 1,
//   both 3x3 with padding 1, dense 16 -> 10 -> 1; ReLU after each but the last; one logit
//   with binary cross-entropy), trained as published: learning rate 3e-3, L2
//   regularization 0.05, mini-batch 64, here with Adam and the L2 term read as the circle
//   example's paper-bn recipe reads it (weight decay 0.05 / 1000), 1000 epochs. The last
//   40 points of an epoch make a shorter step, as in the circle example.
//
//   ball [--recipe paper] [--epochs N] [--seed S] [--lr LR] [--weight-decay WD]
//        [--save FILE] [--log FILE] [--write-data DIR]
#include <cstdio>
#include <exception>
#include <string>

#include "cli/flags.hpp"
#include "cli/output_paths.hpp"
#include "core/errors.hpp"
#include "engine/evaluate.hpp"
#include "engine/fit.hpp"
#include "examples/example_support.hpp"
#include "networks/ball.hpp"
#include "networks/models.hpp"
#include "serialization/model_json.hpp"

using namespace plangrad;

namespace {

// The usage line, for --help and after a usage error.
const char* const kUsage =
    "usage: ball [--recipe paper] [--epochs N] [--seed S] [--lr LR] [--weight-decay WD] [--save FILE]\n"
    "            [--log FILE] [--write-data DIR]\n";

constexpr std::size_t kPoints = 1000;

struct Recipe {
  std::string name;
  std::size_t batch;
  std::int64_t epochs;
  AdamOptions adam;
};

Recipe recipe(const std::string& name) {
  if (name == "paper") return {"paper", 64, 1000, AdamOptions{3e-3, 0.9, 0.999, 1e-8, 0.05 / kPoints}};
  throw UsageError("--recipe must be paper, got '" + name + "'");
}

}  // namespace

int main(int argc, char** argv) try {
  Flags flags(argc, argv);
  if (flags.has("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  Recipe r = recipe(flags.get("--recipe", "paper"));
  r.adam.lr = flags.get_double("--lr", r.adam.lr, 1e-12, 1e6);
  r.adam.weight_decay = flags.get_double("--weight-decay", r.adam.weight_decay, 0.0, 1e6);
  const auto epochs = flags.get_int("--epochs", r.epochs, 1, 1000000);
  const auto seed = static_cast<std::uint64_t>(flags.get_int("--seed", 1, 0, INT64_MAX));
  const std::string save_path = flags.get("--save", "");
  const std::string log_path = flags.get("--log", "");
  const std::string data_dir = flags.get("--write-data", "");
  flags.finish();
  // Before training: a typo in an output path must not cost the run.
  if (!save_path.empty()) check_output_file("--save", save_path, WriteMode::Replace);
  if (!log_path.empty()) check_output_file("--log", log_path, WriteMode::Replace);
  if (!data_dir.empty()) check_output_dir("--write-data", data_dir);

  const BallData train = make_ball(kPoints, seed);
  const BallData test = make_ball(kPoints, seed + 1000);
  if (!data_dir.empty()) {
    examples::write_points(data_dir + "/train.txt", train.points, train.labels);
    examples::write_points(data_dir + "/test.txt", test.points, test.labels);
  }
  Model model = models::ball_cnn().build(seed);
  Adam<float> adam(model, r.adam);
  const ValueRoles roles{"x", "y", "loss", "logit"};
  Evaluator eval(model, {"x", "y", "", "logit"}, kPoints, kPoints);
  const auto accuracy = [&](const BallData& set) {
    return eval.run({set.points.data(), set.labels.data(), set.size()}).accuracy;
  };

  FitOptions options;
  options.epochs = epochs;
  options.batch = r.batch;
  options.seed = seed;
  options.progress = Progress::Off;
  double train_seconds = 0;
  options.on_epoch_end = [&](const EpochStats& e) {
    train_seconds += e.seconds;
    if (e.epoch % 100 == 0 || e.epoch == 1 || e.epoch == epochs)
      std::printf("epoch %4lld  loss %.5f  train accuracy %.4f\n", static_cast<long long>(e.epoch), e.train_loss,
                  accuracy(train));
    return true;
  };
  // With a log, the test set rides along as validation data (its loss per epoch in the
  // log); evaluation reads the model and never changes the training.
  DataView validation;
  if (!log_path.empty()) {
    options.log_path = log_path;
    validation = {test.points.data(), test.labels.data(), kPoints};
  }
  const FitResult result =
      fit(model, adam, roles, {train.points.data(), train.labels.data(), kPoints}, validation, options);
  const double train_acc = accuracy(train), test_acc = accuracy(test);
  if (!save_path.empty()) save_model(model, save_path);
  std::printf("{\"example\":\"ball\",\"recipe\":\"%s\",\"test_accuracy\":%.4f,\"train_accuracy\":%.4f,"
              "\"train_seconds\":%.4f,\"steps\":%lld}\n",
              r.name.c_str(), test_acc, train_acc, train_seconds, static_cast<long long>(result.steps));
  return 0;
} catch (const UsageError& e) {
  std::fprintf(stderr, "ball: %s\n%s", e.what(), kUsage);
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "ball: %s\n", e.what());
  return 1;
}
