// A program that uses plangrad as an installed library would: one include, the builder,
// a training plan, a few steps, save and load, and inference on the loaded model. It
// prints "consumer ok" and exits 0 when the loaded model predicts what the trained one did.
#include <plangrad/plangrad.hpp>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace plangrad;
  const std::string path = argc > 1 ? argv[1] : "consumer-model.json";
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2});
  Value y = b.input("y", {kBatchDim, 1});
  Value out = b.dense(b.relu(b.dense(x, 8, "fc1")), 1, "out");
  b.output(b.mse_loss(out, y, "loss"));
  b.output(out);
  Model model = b.build(/*seed=*/1);

  PlanRequest training;
  training.kind = PlanKind::Training;
  training.batch = 4;
  SGD<float> sgd(model, SgdOptions{0.05, 0.9, 0.0});
  Executor<float> step(model, make_plan(model.graph, training), &sgd);
  const std::vector<float> xs = {0, 0, 0, 1, 1, 0, 1, 1}, ys = {0, 1, 1, 0};
  step.set_input("x", xs.data(), xs.size());
  step.set_input("y", ys.data(), ys.size());
  float first = 0, last = 0;
  for (int i = 0; i < 200; ++i) {
    step.run();
    (i == 0 ? first : last) = step.loss();
  }
  save_model(model, path);
  Model loaded = load_model(path);

  PlanRequest inference;
  inference.kind = PlanKind::Inference;
  inference.outputs = {"out"};
  inference.batch = 4;
  Executor<float> a(model, make_plan(model.graph, inference)), c(loaded, make_plan(loaded.graph, inference));
  a.set_input("x", xs.data(), xs.size());
  c.set_input("x", xs.data(), xs.size());
  a.run();
  c.run();
  for (std::size_t i = 0; i < 4; ++i)
    if (a.value("out")[i] != c.value("out")[i]) {
      std::fprintf(stderr, "consumer: the loaded model predicts differently\n");
      return 1;
    }
  std::printf("plangrad %s: loss %.4f -> %.4f\n", kVersion, first, last);
  if (!(last < first)) return 1;
  std::printf("consumer ok\n");
  return 0;
}
