// A program that ships a plangrad model as ONNX and reads it back, as an installed
// library's user would: the builder, save_onnx, load_onnx, and inference on both models.
// Prints "consumer_onnx ok" and exits 0 when the imported model predicts what the
// original does.
#include <plangrad/onnx/onnx.hpp>
#include <plangrad/plangrad.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace plangrad;
  const std::string path = argc > 1 ? argv[1] : "consumer.onnx";
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2});
  Value out = b.dense(b.relu(b.dense(x, 8, "fc1")), 3, "out");
  b.output(out);
  Model model = b.build(/*seed=*/1);
  save_onnx(model, path);
  Model imported = load_onnx(path);

  PlanRequest inference;
  inference.kind = PlanKind::Inference;
  inference.batch = 4;
  inference.outputs = {"out"};
  Executor<float> a(model, make_plan(model.graph, inference));
  const std::vector<float> xs = {0, 0, 0, 1, 1, 0, 1, 1};
  a.set_input("x", xs.data(), xs.size());
  a.run();
  const std::string out_name = imported.graph.outputs.empty() ? "out" : imported.graph.outputs.front();
  inference.outputs = {out_name};
  Executor<float> c(imported, make_plan(imported.graph, inference));
  c.set_input("x", xs.data(), xs.size());
  c.run();
  for (std::size_t i = 0; i < 12; ++i) {
    if (std::fabs(a.value("out")[i] - c.value(out_name)[i]) > 1e-6f) {
      std::fprintf(stderr, "consumer_onnx: the imported model predicts differently\n");
      return 1;
    }
  }
  std::printf("consumer_onnx ok\n");
  return 0;
}
