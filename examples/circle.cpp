// Circle classification, the seed papers' task: is a point of the unit square inside the
// disk of area 1/2 centred at (0.5, 0.5)?
//
// Model 2-25-25-25-2: ReLU on the hidden layers, tanh on the output, MSE against one-hot
// targets, SGD lr 0.1, batch 100, 250 epochs, PyTorch's default initialization.
//
//   circle [--epochs 250] [--seed 1]
#include <chrono>
#include <cstdio>
#include <exception>

#include "datasets/batches.hpp"
#include "datasets/circle.hpp"
#include "engine/builder.hpp"
#include "engine/errors.hpp"
#include "engine/executor.hpp"
#include "engine/flags.hpp"

using namespace plangrad;

namespace {

constexpr Dim kBatch = 100;
constexpr std::size_t kPoints = 1000;

Model circle_mlp(std::uint64_t seed) {
  GraphBuilder b;
  const Init torch = init::torch_default();
  Value x = b.input("x", {kBatchDim, 2});
  Value y = b.input("y", {kBatchDim, 2});
  Value h = b.relu(b.dense(x, 25, "fc1", torch, torch));
  h = b.relu(b.dense(h, 25, "fc2", torch, torch));
  h = b.relu(b.dense(h, 25, "fc3", torch, torch));
  Value out = b.tanh(b.dense(h, 2, "fc4", torch, torch), "out");
  b.output(b.mse_loss(out, y, "loss"));
  return b.build(seed);
}

// The share of points whose larger output is the one-hot position of its label.
double accuracy(Executor<float>& eval, const CircleData& data) {
  eval.set_input("x", data.points.data(), data.points.size());
  eval.run();
  const TensorRef<const float> out = eval.value("out");
  std::size_t correct = 0;
  for (std::size_t i = 0; i < data.size(); ++i)
    correct += (out[2 * i + 1] > out[2 * i]) == (data.labels(i) == 1.0f);
  return static_cast<double>(correct) / static_cast<double>(data.size());
}

}  // namespace

int main(int argc, char** argv) try {
  Flags flags(argc, argv);
  const auto epochs = flags.get_int("--epochs", 250, 1, 1000000);
  const auto seed = static_cast<std::uint64_t>(flags.get_int("--seed", 1, 0, INT64_MAX));
  flags.finish();

  const CircleData train = make_circle(kPoints, seed);
  const CircleData test = make_circle(kPoints, seed + 1000);
  const xt::xtensor<float, 2> train_targets = one_hot(train.labels, 2);
  Model model = circle_mlp(seed);

  PlanRequest training;
  training.kind = PlanKind::Training;
  training.batch = kBatch;
  SGD<float> sgd(model, {0.1, 0.0, 0.0});
  Executor<float> step(model, make_plan(model.graph, training), &sgd);

  PlanRequest inference;
  inference.outputs = {"out"};
  inference.batch = static_cast<Dim>(kPoints);
  Executor<float> eval(model, make_plan(model.graph, inference));

  BatchIterator batches(kPoints, kBatch, seed);
  Span<const std::size_t> batch;
  const TensorRef<float> x = step.input("x"), y = step.input("y");
  double train_seconds = 0;
  std::size_t steps = 0;
  for (std::int64_t epoch = 1; epoch <= epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    std::size_t n = 0;
    while (batches.next(batch)) {
      gather_rows(train.points.data(), kPoints, 2, batch, x.data);
      gather_rows(train_targets.data(), kPoints, 2, batch, y.data);
      step.run();
      loss_sum += step.loss();
      ++n;
    }
    train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    steps += n;
    if (epoch % 25 == 0 || epoch == 1 || epoch == epochs)
      std::printf("epoch %4lld  loss %.5f  train accuracy %.4f\n", static_cast<long long>(epoch),
                  loss_sum / static_cast<double>(n), accuracy(eval, train));
  }
  const double train_acc = accuracy(eval, train), test_acc = accuracy(eval, test);
  std::printf("{\"example\":\"circle\",\"model\":\"mlp\",\"test_accuracy\":%.4f,\"train_accuracy\":%.4f,"
              "\"train_seconds\":%.4f,\"steps\":%zu}\n",
              test_acc, train_acc, train_seconds, steps);
  return 0;
} catch (const UsageError& e) {
  std::fprintf(stderr, "circle: %s\nusage: circle [--epochs N] [--seed S]\n", e.what());
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "circle: %s\n", e.what());
  return 1;
}
