// MNIST-style digit (or Fashion-MNIST garment) classification from IDX files.
//
// --model mlp: 784-256-128-10, ReLU, softmax cross-entropy. Default recipe: SGD lr 0.05,
//   momentum 0.9, 5 epochs.
// --model cnn: [conv 3x3 pad 1 -> batchnorm -> ReLU -> max-pool 2] x 2 (16, 32 channels),
//   flatten, dense 1568 -> 10. Default recipe: Adam lr 1e-3, 2 epochs.
// --model resnet: the residual CNN of networks/resnet.hpp (stem conv and max-pool, three
//   residual stages of --widths 16,32,64 channels with --blocks 1 block each and a strided
//   conv between them, global average pooling, dropout 0.2, dense -> 10). Default recipe:
//   Adam with a one-cycle schedule per step peaking at --lr 5e-3, 5 epochs.
// All: batch 128, PyTorch's default initialization, one fresh shuffle per epoch. A fresh
// model's graph starts with a normalize node that standardizes the pixels with the
// training images' mean and standard deviation (--no-normalize: the raw [0, 1] pixels).
//
// Training goes through the library's fit loop (engine/fit.hpp). Every epoch's last,
// shorter batch (60000 = 468 * 128 + 96) is kept, as PyTorch's DataLoader does: a second
// plan at that size runs it on the same model and optimizer, one more optimizer step. Test
// accuracy comes from the library's evaluation loop (engine/evaluate.hpp): Eval-mode plans
// (batchnorm uses its running statistics) over the test set in chunks of 1000 plus a
// remainder chunk.
//
//   mnist --data DIR [--model mlp|cnn|resnet] [--epochs E] [--batch 128] [--optimizer sgd|adam]
//         [--lr LR] [--momentum 0.9] [--schedule SPEC] [--widths W1,W2,W3] [--blocks K]
//         [--seed 1] [--save FILE] [--load FILE] [--plan-stats] [--no-normalize]
//
// --schedule SPEC sets the learning rate before every optimizer step, counting steps over
// the run (engine/lr_schedule.hpp's text, as `plangrad train --schedule SPEC
// --schedule-unit step`); a onecycle without a total spans the run. Default: constant at
// --lr; for resnet, onecycle:LR with LR the --lr.
//
// --load FILE starts from a saved model (its graph must follow `plangrad eval`'s value
// conventions, docs/cli.md); with --epochs 0 it is only evaluated. --save FILE
// writes the model at the end. --plan-stats prints every plan's memory figures.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/batches.hpp"
#include "datasets/idx.hpp"
#include "core/errors.hpp"
#include "engine/eval_roles.hpp"
#include "engine/evaluate.hpp"
#include "engine/executor.hpp"
#include "engine/fit.hpp"
#include "engine/lr_schedule.hpp"
#include "cli/flags.hpp"
#include "cli/output_paths.hpp"
#include "networks/models.hpp"
#include "networks/resnet.hpp"
#include "serialization/model_json.hpp"

using namespace plangrad;

namespace {

// The usage line, for --help and after a usage error.
const char* const kUsage =
    "usage: mnist --data DIR [--model mlp|cnn|resnet] [--epochs E] [--batch 128] [--optimizer sgd|adam] [--lr LR]\n"
    "             [--momentum 0.9] [--schedule SPEC] [--widths W1,W2,W3] [--blocks K] [--seed S] [--save FILE]\n"
    "             [--load FILE] [--plan-stats] [--no-normalize]\n";

constexpr Dim kEvalChunk = 1000;

// Memory figures of a plan: its arena against the most bytes live at one step (the lower
// bound) and against every tensor in its own buffer (naive).
void print_plan_stats(const char* what, std::size_t batch, const Plan& plan) {
  const PlanStats& s = plan.stats;
  std::printf("plan %-8s batch %4zu: arena %9zu B  lower bound %9zu B  naive %9zu B  "
              "arena/lower bound %.3f  arena/naive %.3f\n",
              what, batch, s.arena_bytes, s.lower_bound_bytes, s.naive_bytes,
              double(s.arena_bytes) / double(s.lower_bound_bytes), double(s.arena_bytes) / double(s.naive_bytes));
}

// Sizes a pass over n samples in batches of `batch` hands out: the full one and, when
// n does not divide, the remainder (0 when it does).
struct BatchSizes {
  std::size_t full, rest;
};
BatchSizes batch_sizes(std::size_t n, std::size_t batch) {
  return n < batch ? BatchSizes{n, 0} : BatchSizes{batch, n % batch};
}

// Optimizer steps per epoch: the full batches and the shorter last one.
std::int64_t steps_per_epoch(std::size_t n, std::size_t batch) {
  return static_cast<std::int64_t>((n + batch - 1) / batch);
}

std::string basename_of(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A loaded model's kind: the one its document records (mnist --save writes it), else "cnn"
// when it convolves.
std::string model_kind(const ModelDocument& doc) {
  // ModelDocument::training is the JSON text of the document's "training" object.
  const nlohmann::json training = doc.training.empty() ? nlohmann::json() : nlohmann::json::parse(doc.training);
  if (training.is_object() && training.contains("model")) {
    const nlohmann::json& kind = training["model"];
    if (kind == "mlp" || kind == "cnn" || kind == "resnet") return kind.get<std::string>();
  }
  for (const Node& node : doc.model.graph.nodes)
    if (node.op == "conv2d" || node.op == "conv2d_nobias") return "cnn";
  return "mlp";
}

// --widths W1,W2,W3: three positive channel counts.
void parse_widths(const std::string& text, models::ResnetShape& shape) {
  std::size_t begin = 0;
  for (int i = 0; i < 3; ++i) {
    const std::size_t end = i < 2 ? text.find(',', begin) : text.size();
    const std::string part = end == std::string::npos ? "" : text.substr(begin, end - begin);
    char* stop = nullptr;
    const long long w = part.empty() ? 0 : std::strtoll(part.c_str(), &stop, 10);
    if (part.empty() || *stop != '\0' || w < 1 || w > 4096 || (i == 2 && text.find(',', begin) != std::string::npos))
      throw UsageError("--widths must be three channel counts 1..4096 like 16,32,64, got '" + text + "'");
    shape.widths[i] = static_cast<Dim>(w);
    begin = end + 1;
  }
}

// The network of a fresh model of that kind; `stats` (or none) for its normalize node.
GraphBuilder network(const std::string& kind, const models::ResnetShape& shape, const models::InputStats* stats) {
  if (kind == "resnet") return models::fashion_resnet(shape, stats);
  if (kind == "cnn") return stats ? models::mnist_cnn(*stats) : models::mnist_cnn();
  return stats ? models::mnist_mlp(*stats) : models::mnist_mlp();
}

// The mean and (population) standard deviation of every pixel of the set, in double.
models::InputStats pixel_stats(const ImageSet& set) {
  double sum = 0.0, sum_sq = 0.0;
  for (const float p : set.images) sum += p;
  const double n = static_cast<double>(set.images.size()), mean = sum / n;
  for (const float p : set.images) sum_sq += (p - mean) * (p - mean);
  return {mean, std::sqrt(sum_sq / n)};
}

}  // namespace

int main(int argc, char** argv) try {
  Flags flags(argc, argv);
  if (flags.has("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string data_dir = flags.get("--data", "");
  if (data_dir.empty()) throw UsageError("--data DIR is required");
  const std::string load_path = flags.get("--load", "");
  const std::string save_path = flags.get("--save", "");
  std::string model_name = flags.get("--model", "");
  if (!model_name.empty() && model_name != "mlp" && model_name != "cnn" && model_name != "resnet")
    throw UsageError("--model must be mlp, cnn or resnet, got '" + model_name + "'");

  // The model: a saved one, or a fresh one from --seed.
  const auto seed = static_cast<std::uint64_t>(flags.get_int("--seed", 1, 0, INT64_MAX));
  ModelDocument doc;
  if (!load_path.empty()) {
    doc = load_model_document(load_path);
    const std::string saved = model_kind(doc);
    if (!model_name.empty() && model_name != saved)
      throw UsageError("--model " + model_name + " but " + load_path + " holds a " + saved + " model");
    model_name = saved;
  } else if (model_name.empty()) {
    model_name = "mlp";
  }
  Model& model = doc.model;  // a fresh model is built once the training images are read

  // The recipe: defaults by model, every part overridable.
  const bool cnn = model_name == "cnn", resnet = model_name == "resnet";
  const auto epochs = flags.get_int("--epochs", cnn ? 2 : 5, 0, 100000);
  const auto batch = static_cast<std::size_t>(flags.get_int("--batch", 128, 1, 1 << 20));
  const std::string optimizer_name = flags.get("--optimizer", cnn || resnet ? "adam" : "sgd");
  if (optimizer_name != "sgd" && optimizer_name != "adam")
    throw UsageError("--optimizer must be sgd or adam, got '" + optimizer_name + "'");
  const bool adam = optimizer_name == "adam";
  const double lr = flags.get_double("--lr", resnet ? 5e-3 : adam ? 1e-3 : 0.05, 1e-12, 1e6);
  const std::string schedule_text = flags.get("--schedule", "");
  const LrSchedule schedule = !schedule_text.empty() ? LrSchedule::parse(schedule_text)
                              : resnet               ? LrSchedule::onecycle(lr)
                                                     : LrSchedule::constant();
  models::ResnetShape shape;
  const std::string widths = flags.get("--widths", "");
  const auto blocks = flags.get_int("--blocks", -1, 1, 64);  // -1: not given
  if ((!widths.empty() || blocks != -1) && (!resnet || !load_path.empty()))
    throw UsageError("--widths and --blocks are for a fresh --model resnet");
  if (!widths.empty()) parse_widths(widths, shape);
  if (blocks != -1) shape.blocks = static_cast<int>(blocks);
  double momentum = flags.get_double("--momentum", -1.0, 0.0, 1.0);  // -1: not given
  if (adam && momentum >= 0.0) throw UsageError("--momentum is for --optimizer sgd (Adam has betas 0.9, 0.999)");
  if (momentum < 0.0) momentum = adam ? 0.0 : 0.9;
  const bool plan_stats = flags.has("--plan-stats");
  const bool normalize = !flags.has("--no-normalize");
  if (!normalize && !load_path.empty())
    throw UsageError("--no-normalize is for a fresh model (a loaded model keeps its own graph)");
  flags.finish();
  // Before the data is read and the model trained: a typo in --save must not cost the run.
  if (!save_path.empty()) check_output_file("--save", save_path, WriteMode::Replace);

  // The data checked against the model (engine/eval_roles.hpp): the images against its
  // image input, the labels against the classes of its logits -- a loaded model's, or
  // those of the network a fresh model will be (it is built from the training images).
  const EvalRoles roles = eval_roles(load_path.empty() ? network(model_name, shape, nullptr).graph() : model.graph);
  const ImageSet train = load_image_set(data_dir, Split::Train, roles);
  const ImageSet test = load_image_set(data_dir, Split::Test, roles);
  if (load_path.empty()) {
    if (normalize) {
      const models::InputStats stats = pixel_stats(train);
      std::printf("input normalization: mean %.4f, std %.4f (the training images)\n", stats.mean, stats.std);
      model = network(model_name, shape, &stats).build(seed);
    } else {
      model = network(model_name, shape, nullptr).build(seed);
    }
  }

  const std::string dataset = basename_of(data_dir);
  // A onecycle without a total spans the run.
  const LrSchedule run_schedule = schedule.with_total(epochs * steps_per_epoch(train.size(), batch));
  std::unique_ptr<Optimizer<float>> optimizer;
  if (adam) {
    AdamOptions options;  // PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay
    options.lr = lr;
    optimizer = std::make_unique<Adam<float>>(model, options);
  } else {
    optimizer = std::make_unique<SGD<float>>(model, SgdOptions{lr, momentum, 0.0});
  }
  std::printf("%s on %s: %zu training, %zu test images", model_name.c_str(), dataset.c_str(), train.size(),
              test.size());
  if (!load_path.empty()) std::printf(", from %s", load_path.c_str());
  if (epochs > 0) {
    std::printf("; %s lr %g", optimizer_name.c_str(), lr);
    if (!adam) std::printf(" momentum %g", momentum);
    if (schedule.kind != LrSchedule::Kind::Constant) std::printf(", schedule %s per step", run_schedule.str().c_str());
    std::printf(", batch %zu, %lld epochs, seed %llu", batch, static_cast<long long>(epochs),
                static_cast<unsigned long long>(seed));
  }
  std::printf("\n");

  // Accuracy only: the plans compute the logits, not the loss.
  Evaluator evaluator(model, {roles.input, roles.target, "", roles.logits}, test.size(), kEvalChunk);
  const auto test_accuracy_now = [&] {
    return evaluator.run({test.images.data(), test.labels.data(), test.size()}).accuracy;
  };
  if (plan_stats) {
    const Plan* rest = evaluator.remainder_plan();
    print_plan_stats("eval", evaluator.batch(), evaluator.plan());
    if (rest) print_plan_stats("eval", test.size() % evaluator.batch(), *rest);
    const BatchSizes sizes = batch_sizes(train.size(), batch);
    PlanRequest request;
    request.kind = PlanKind::Training;
    request.loss = roles.loss;
    for (const std::size_t b : {sizes.full, sizes.rest}) {
      if (b == 0) continue;
      request.batch = static_cast<Dim>(b);
      print_plan_stats("training", b, make_plan(model.graph, request));
    }
  }

  // The library's training loop (engine/fit.hpp): seeded shuffled batches, a second plan
  // for the shorter last batch, no allocation per step.
  double train_seconds = 0;
  std::size_t samples = 0;
  if (epochs > 0) {
    FitOptions options;
    options.epochs = epochs;
    options.batch = batch;
    options.seed = seed;
    options.progress = Progress::Off;
    if (schedule.kind != LrSchedule::Kind::Constant) {
      set_lr_schedule(options, run_schedule);
      options.lr_schedule_unit = ScheduleUnit::Step;
    }
    options.on_epoch_end = [&](const EpochStats& e) {
      train_seconds += e.seconds;
      samples += train.size();
      std::printf("epoch %3lld  train loss %.4f  test accuracy %.4f  %.0f samples/s\n", static_cast<long long>(e.epoch),
                  e.train_loss, test_accuracy_now(), static_cast<double>(train.size()) / e.seconds);
      std::fflush(stdout);
      return true;
    };
    fit(model, *optimizer, roles, {train.images.data(), train.labels.data(), train.size()},
        DataView{}, options);
  }
  const double test_accuracy = test_accuracy_now();
  const double samples_per_second = train_seconds > 0 ? static_cast<double>(samples) / train_seconds : 0.0;

  if (!save_path.empty()) {
    doc.training = nlohmann::json{{"example", "mnist"}, {"model", model_name}, {"dataset", dataset},
                                  {"test_accuracy", test_accuracy}}.dump();
    save_model_document(doc, save_path);
  }
  // The result line, through nlohmann::json so that any directory name is quoted right.
  nlohmann::ordered_json result;
  result["example"] = "mnist";
  result["model"] = model_name;
  result["dataset"] = dataset;
  result["epochs"] = epochs;
  result["test_accuracy"] = std::round(test_accuracy * 1e4) / 1e4;
  result["train_seconds"] = std::round(train_seconds * 100) / 100;
  result["samples_per_second"] = static_cast<std::int64_t>(std::llround(samples_per_second));
  if (epochs > 0) {  // the recipe
    result["optimizer"] = optimizer_name;
    result["lr"] = lr;
    if (schedule.kind != LrSchedule::Kind::Constant)
      result["schedule"] = run_schedule.str();
    result["batch"] = batch;
    result["seed"] = seed;
    result["steps"] = optimizer->step_count();  // optimizer steps: every batch, the short ones too
  }
  std::printf("%s\n", result.dump().c_str());
  return 0;
} catch (const UsageError& e) {
  std::fprintf(stderr, "mnist: %s\n%s", e.what(), kUsage);
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "mnist: %s\n", e.what());
  return 1;
}
