// Circle classification, the seed papers' task: is a point of the unit square inside the
// disk of area 1/2 centred at (0.5, 0.5)? 1000 training and 1000 test points. The recipe
// (network, optimizer, batch, epochs) is chosen by name:
//
// --recipe mlp (default): 2-25-25-25-2, ReLU on the hidden layers, tanh on the output, MSE
//   against one-hot targets, SGD lr 0.1, batch 100, 250 epochs, PyTorch's default
//   initialization.
// --recipe bn: 2-100-50-20-1, dense -> batchnorm -> ReLU on the hidden layers, one logit
//   with binary cross-entropy against the 0/1 label, batch 64, 250 epochs, SGD lr 0.01,
//   momentum 0.9, weight decay 1e-4. 1000 = 15 * 64 + 40: the last 40 points of an epoch
//   make a 16th, shorter step (PyTorch's DataLoader keeps it too): the fit loop
//   (engine/fit.hpp) runs it with a second plan at batch 40 on the same model and
//   optimizer. Accuracy is measured by the library's evaluation loop (engine/evaluate.hpp)
//   in Eval mode: batchnorm then uses its running statistics.
// --recipe paper-bn: the same network trained as the second seed paper publishes it: 1000
//   epochs, learning rate 2e-3, L2 regularization 0.05, mini-batch 64 (docs/reproductions.md
//   says how the L2 term is read).
// --model mlp|bn is the older spelling of --recipe mlp|bn.
//
//   circle [--recipe mlp|bn|paper-bn] [--epochs N] [--seed S] [--save FILE]
//          [--lr LR] [--momentum M] [--weight-decay WD]   (override the recipe's)
//          [--plot-data DIR]   (what scripts/plot_circle.sh draws)
//          [--log FILE]        (one JSON line per epoch, the test set as validation)
//          [--write-data DIR]  (DIR/train.txt, DIR/test.txt: the points, for PyTorch)
#include <cstdio>
#include <exception>
#include <string>
#include <variant>
#include <vector>

#include "engine/batches.hpp"
#include "datasets/circle.hpp"
#include "core/errors.hpp"
#include "engine/evaluate.hpp"
#include "engine/executor.hpp"
#include "engine/fit.hpp"
#include "cli/flags.hpp"
#include "cli/output_paths.hpp"
#include "examples/example_support.hpp"
#include "networks/models.hpp"
#include "serialization/model_json.hpp"

using namespace plangrad;

namespace {

// The usage line, for --help and after a usage error.
const char* const kUsage =
    "usage: circle [--recipe mlp|bn|paper-bn] [--epochs N] [--seed S] [--save FILE] [--lr LR] [--momentum M]\n"
    "              [--weight-decay WD] [--plot-data DIR] [--log FILE] [--write-data DIR]\n";

constexpr std::size_t kPoints = 1000;
const AdamOptions kPaperOptimizer{2e-3, 0.9, 0.999, 1e-8, 0.05 / kPoints};

// What differs between the recipes: the graph, its targets, the optimizer and what a
// prediction reads.
struct Recipe {
  std::string name;   // "mlp", "bn" or "paper-bn"
  std::string model;  // the network: "mlp" or "bn"
  Dim batch;
  std::int64_t epochs;
  OptimizerOptions optimizer;
  std::string out;      // the prediction: "out" [N, 2] or "logit" [N, 1]
  std::size_t targets;  // values per target row: one-hot (2) or the label itself (1)
};

Recipe recipe(const std::string& name) {
  if (name == "mlp") return {"mlp", "mlp", 100, 250, SgdOptions{0.1, 0.0, 0.0}, "out", 2};
  // lr 0.01 with momentum 0.9 takes steps as long as the mlp's plain lr 0.1 (lr / (1 -
  // momentum)); lr 0.1 with momentum 0.9 takes ten times longer ones, and its final test
  // accuracy spreads from 95% to 98% over seeds (in PyTorch as here: the loss stalls near
  // 0.16). Weight decay 1e-4 is the customary small L2 that keeps the weights -- which
  // batchnorm makes scale-free -- from growing without bound.
  if (name == "bn") return {"bn", "bn", 64, 250, SgdOptions{0.01, 0.9, 1e-4}, "logit", 1};
  // The paper's framework: Adam, and "L2 regularization 0.05" as lambda / (2 m) * sum w^2
  // over the m = 1000 training points, whose gradient is weight decay lambda / m = 5e-5.
  if (name == "paper-bn") return {"paper-bn", "bn", 64, 1000, kPaperOptimizer, "logit", 1};
  throw UsageError("--recipe must be mlp, bn or paper-bn, got '" + name + "'");
}

double& learning_rate(OptimizerOptions& o) {
  return std::holds_alternative<SgdOptions>(o) ? std::get<SgdOptions>(o).lr : std::get<AdamOptions>(o).lr;
}
double& weight_decay(OptimizerOptions& o) {
  return std::holds_alternative<SgdOptions>(o) ? std::get<SgdOptions>(o).weight_decay
                                               : std::get<AdamOptions>(o).weight_decay;
}

// Writes what scripts/plot_circle.sh draws: DIR/boundary.dat, the model's score on a
// 201 x 201 grid over the unit square ("x y score", inside where score > 0), and
// DIR/points.dat, every point as "x y label set correct" (set 0: train, 1: test).
void write_plot_data(Model& model, const Recipe& r, const CircleData& train, const CircleData& test,
                     const std::string& dir) {
  constexpr std::size_t kSide = 201;
  std::vector<float> grid(kSide * kSide * 2);
  for (std::size_t i = 0; i < kSide; ++i)
    for (std::size_t j = 0; j < kSide; ++j) {
      grid[2 * (i * kSide + j)] = static_cast<float>(j) / (kSide - 1);
      grid[2 * (i * kSide + j) + 1] = static_cast<float>(i) / (kSide - 1);
    }
  PlanRequest request;
  request.outputs = {r.out};
  request.batch = static_cast<Dim>(kSide * kSide);
  Executor<float> eval(model, make_plan(model.graph, request));
  eval.set_input("x", grid.data(), grid.size());
  eval.run();
  const TensorRef<const float> out = eval.value(r.out);
  auto score = [&](std::size_t i) { return r.targets == 2 ? out[2 * i + 1] - out[2 * i] : out[i]; };
  const std::string boundary_path = dir + "/boundary.dat", points_path = dir + "/points.dat";
  std::FILE* f = std::fopen(boundary_path.c_str(), "w");
  if (!f) throw DataError("cannot write " + boundary_path);
  for (std::size_t i = 0; i < kSide * kSide; ++i)
    std::fprintf(f, "%.4f %.4f %.6f%s", grid[2 * i], grid[2 * i + 1], static_cast<double>(score(i)),
                 (i + 1) % kSide == 0 ? "\n\n" : "\n");
  std::fclose(f);
  f = std::fopen(points_path.c_str(), "w");
  if (!f) throw DataError("cannot write " + points_path);
  for (const CircleData* set : {&train, &test}) {
    request.batch = static_cast<Dim>(set->size());
    Executor<float> points(model, make_plan(model.graph, request));
    points.set_input("x", set->points.data(), set->points.size());
    points.run();
    const TensorRef<const float> o = points.value(r.out);
    const std::size_t columns = static_cast<std::size_t>(o.dim(1));
    for (std::size_t i = 0; i < set->size(); ++i) {
      const std::size_t label = set->labels(i) == 1.0f ? 1 : 0;
      std::fprintf(f, "%.6f %.6f %zu %d %d\n", static_cast<double>(set->points(i, 0)),
                   static_cast<double>(set->points(i, 1)), label, set == &test ? 1 : 0,
                   predicted_class(o.data + i * columns, columns) == label ? 1 : 0);
    }
  }
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) try {
  Flags flags(argc, argv);
  if (flags.has("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string model_flag = flags.get("--model", ""), recipe_flag = flags.get("--recipe", "");
  if (!model_flag.empty() && !recipe_flag.empty()) throw UsageError("--model and --recipe name the same thing: give one");
  if (!model_flag.empty() && model_flag != "mlp" && model_flag != "bn")
    throw UsageError("--model must be mlp or bn, got '" + model_flag + "'");
  Recipe r = recipe(!recipe_flag.empty() ? recipe_flag : !model_flag.empty() ? model_flag : "mlp");
  learning_rate(r.optimizer) = flags.get_double("--lr", learning_rate(r.optimizer), 1e-12, 1e6);
  if (auto* sgd = std::get_if<SgdOptions>(&r.optimizer))
    sgd->momentum = flags.get_double("--momentum", sgd->momentum, 0.0, 1.0);
  weight_decay(r.optimizer) = flags.get_double("--weight-decay", weight_decay(r.optimizer), 0.0, 1e6);
  const auto epochs = flags.get_int("--epochs", r.epochs, 1, 1000000);
  const auto seed = static_cast<std::uint64_t>(flags.get_int("--seed", 1, 0, INT64_MAX));
  const std::string save_path = flags.get("--save", "");
  const std::string plot_dir = flags.get("--plot-data", "");
  const std::string log_path = flags.get("--log", "");
  const std::string data_dir = flags.get("--write-data", "");
  flags.finish();
  // Before training: a typo in an output path must not cost the run.
  if (!save_path.empty()) check_output_file("--save", save_path, WriteMode::Replace);
  if (!plot_dir.empty()) check_output_dir("--plot-data", plot_dir);
  if (!log_path.empty()) check_output_file("--log", log_path, WriteMode::Replace);
  if (!data_dir.empty()) check_output_dir("--write-data", data_dir);

  const CircleData train = make_circle(kPoints, seed);
  const CircleData test = make_circle(kPoints, seed + 1000);
  // The sets as the graph's target "y" takes them: one-hot rows (mlp) or the 0/1 labels (bn).
  const Tensor<float> train_one_hot = one_hot(train.labels, 2), test_one_hot = one_hot(test.labels, 2);
  const float* train_targets = r.targets == 2 ? train_one_hot.data() : train.labels.data();
  const float* test_targets = r.targets == 2 ? test_one_hot.data() : test.labels.data();
  if (!data_dir.empty()) {
    examples::write_points(data_dir + "/train.txt", train.points, train.labels);
    examples::write_points(data_dir + "/test.txt", test.points, test.labels);
  }
  Model model = r.model == "mlp" ? models::circle_mlp().build(seed) : models::circle_bn().build(seed);

  const auto optimizer = examples::make_recipe_optimizer(model, r.optimizer);
  // The share of points predicted right (engine/evaluate.hpp: predicted_class), all 1000
  // in one Eval-mode batch.
  Evaluator eval(model, {"x", "y", "", r.out}, kPoints, kPoints);
  const auto accuracy = [&](const CircleData& set, const float* targets) {
    return eval.run({set.points.data(), targets, set.size()}).accuracy;
  };

  // The library's training loop (engine/fit.hpp): seeded shuffled batches, a second plan
  // for the shorter last batch, no allocation per step.
  FitOptions options;
  options.epochs = epochs;
  options.batch = static_cast<std::size_t>(r.batch);
  options.seed = seed;
  options.progress = Progress::Off;
  double train_seconds = 0;
  options.on_epoch_end = [&](const EpochStats& e) {
    train_seconds += e.seconds;
    if (e.epoch % 25 == 0 || e.epoch == 1 || e.epoch == epochs)
      std::printf("epoch %4lld  loss %.5f  train accuracy %.4f\n", static_cast<long long>(e.epoch), e.train_loss,
                  accuracy(train, train_targets));
    return true;
  };
  // With a log, the test set rides along as validation data, so that the log holds its loss
  // per epoch; evaluation reads the model and never changes the training.
  DataView validation;
  if (!log_path.empty()) {
    options.log_path = log_path;
    validation = {test.points.data(), test_targets, kPoints};
  }
  const FitResult result = fit(model, *optimizer, {"x", "y", "loss", r.out},
                               {train.points.data(), train_targets, kPoints}, validation, options);
  const auto steps = static_cast<std::size_t>(result.steps);
  const double train_acc = accuracy(train, train_targets), test_acc = accuracy(test, test_targets);
  if (!save_path.empty()) save_model(model, save_path);
  if (!plot_dir.empty()) write_plot_data(model, r, train, test, plot_dir);
  std::printf("{\"example\":\"circle\",\"model\":\"%s\",\"recipe\":\"%s\",\"test_accuracy\":%.4f,\"train_accuracy\":%.4f,"
              "\"train_seconds\":%.4f,\"steps\":%zu}\n",
              r.model.c_str(), r.name.c_str(), test_acc, train_acc, train_seconds, steps);
  return 0;
} catch (const UsageError& e) {
  std::fprintf(stderr, "circle: %s\n%s", e.what(), kUsage);
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "circle: %s\n", e.what());
  return 1;
}
