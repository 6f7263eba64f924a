// PyTorch's ONNX files imported by load_onnx give PyTorch's outputs. tests/onnx/torch_models.py
// exports each model at opsets 11 to 17, with and without constant folding, and records
// PyTorch's outputs at batch 1 and 64; each file is imported and run through plangrad's
// inference plan on the same inputs.
//
// The measure: for one output tensor p (plangrad) against t (PyTorch),
//   max_i |p_i - t_i| / max_i |t_i|
// the largest difference relative to the tensor's largest magnitude (so that an output
// near 0 does not turn float rounding into a large relative figure); it must be <= 1e-5.
// The largest figure per model is printed (WARN): build/tests/onnx_tests '[import]'.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>

#include <nlohmann/json.hpp>

#include "engine/executor.hpp"
#include "onnx/onnx.hpp"
#include "planner/plan.hpp"
#include "tests/onnx/difference.hpp"
#include "tests/onnx/ort.hpp"
#include "tests/onnx/torch_files.hpp"

namespace {

using namespace plangrad;
using plangrad::testing::TorchFiles;

using plangrad::testing::Difference;
using plangrad::testing::difference;

// The model's output for `x` at `batch`, by plangrad's inference plan.
std::vector<float> run_plangrad(Model& model, const std::vector<float>& x, std::int64_t batch) {
  PlanRequest request;
  request.kind = PlanKind::Inference;
  request.batch = batch;
  const Plan plan = make_plan(model.graph, request);
  Executor<float> ex(model, plan);
  const TensorRef<float> in = ex.input("x");
  REQUIRE(in.size() == x.size());
  std::copy(x.begin(), x.end(), in.begin());
  ex.run();
  const TensorRef<const float> out = ex.value(model.graph.outputs.at(0));
  return std::vector<float>(out.begin(), out.end());
}

}  // namespace

TEST_CASE("PyTorch's exports import and give PyTorch's outputs", "[import]") {
  const TorchFiles& files = TorchFiles::get();
  const nlohmann::json& manifest = files.manifest();
  REQUIRE(manifest.at("models").size() == 5);
  for (const auto& entry : manifest.at("models")) {
    const std::string name = entry.at("name");
    Difference worst;
    std::size_t runs = 0;
    for (const auto& file : entry.at("onnx")) {
      const std::string path = files.path(file.at("file"));
      INFO(path);
      Model model = load_onnx(path);
      for (const auto& c : entry.at("cases")) {
        const std::int64_t batch = c.at("batch");
        INFO("batch " << batch);
        const std::vector<float> x = files.floats(c.at("input").at("file"));
        const std::vector<float> want = files.floats(c.at("output").at("file"));
        const Difference d = difference(run_plangrad(model, x, batch), want);
        CHECK(d.relative <= 1e-5);
        worst.relative = std::max(worst.relative, d.relative);
        worst.absolute = std::max(worst.absolute, d.absolute);
        ++runs;
      }
    }
    CHECK(runs == 28);  // 7 opsets x 2 foldings x 2 batch sizes
    WARN(name << ": largest difference to PyTorch over " << runs << " runs (opsets 11-17, folding on/off, batch 1 and 64): "
              << worst.relative << " relative to the largest output, " << worst.absolute << " absolute");
  }
}

TEST_CASE("an imported model keeps PyTorch's names and takes a loss", "[import]") {
  const TorchFiles& files = TorchFiles::get();
  Model cnn = load_onnx(files.path("mnist_cnn_op17_fold.onnx"));
  // Conv weights and batchnorm statistics under the initializers' names; the statistics
  // are state, not parameters.
  CHECK(cnn.parameters.count("0.weight") == 1);
  CHECK(cnn.parameters.count("1.weight") == 1);
  CHECK(cnn.state.count("1.running_mean") == 1);
  CHECK(cnn.state.count("1.running_var") == 1);
  CHECK(cnn.parameters.count("1.running_var") == 0);
  const Graph& g = cnn.graph;
  CHECK(std::count_if(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.op == "batchnorm"; }) == 2);

  Model tuned = load_onnx(files.path("mnist_cnn_op17_fold.onnx"), {"softmax_cross_entropy", ""});
  REQUIRE(tuned.graph.outputs.size() == 2);
  const ValueDecl* labels = tuned.graph.find_value("labels");
  REQUIRE(labels != nullptr);
  CHECK(labels->shape == Shape{kBatchDim});
  PlanRequest request;
  request.kind = PlanKind::Training;
  request.batch = 4;
  CHECK_NOTHROW(make_plan(tuned.graph, request));

  Model mse = load_onnx(files.path("residual_op13_nofold.onnx"), {"mse", "target"});
  REQUIRE(mse.graph.find_value("target") != nullptr);
  CHECK(mse.graph.find_value("target")->shape == Shape{kBatchDim, 10});
}

TEST_CASE("small graphs of the other mappings give ONNX Runtime's outputs", "[import]") {
  // The fuzz seeds written with python3-onnx (tests/fuzz/fuzz_onnx.cpp): Gemm with transB,
  // alpha and beta; MatMul + Add, Identity, a Constant shape with a 0 entry at opset 11,
  // Add of two values; Conv, BatchNormalization with epsilon, MaxPool with strides, a
  // GlobalAveragePool read by a LeakyRelu as [N, C, 1, 1]; at opset 12, Sub and Div by
  // constants (normalize), a Pad into a Conv without bias, an AveragePool with
  // count_include_pad=0, a GlobalAveragePool reshaped to [N, C] by [0, -1], Softmax axis 1.
  const std::pair<const char*, Shape> cases[] = {
      {"gemm.onnx", {3, 3}}, {"matmul_reshape.onnx", {3, 3}}, {"conv_bn.onnx", {3, 1, 4, 4}},
      {"pad_conv_gap.onnx", {3, 2, 6, 6}}};
  for (const auto& [file, shape] : cases) {
    const std::string path = std::string(PLANGRAD_SOURCE_DIR) + "/tests/fuzz/onnx_corpus/" + file;
    INFO(path);
    Model model = load_onnx(path);
    std::vector<float> x(numel(shape));
    std::mt19937 rng(11);
    std::normal_distribution<float> normal;
    for (float& v : x) v = normal(rng);
    const auto ort = plangrad::testing::run_ort(path, {{"x", {std::vector<std::int64_t>(shape.begin(), shape.end()), x}}});
    const Difference d = difference(run_plangrad(model, x, shape[0]), ort.at("y").values);
    CHECK(d.relative <= 1e-5);
    WARN(file << ": largest difference to ONNX Runtime " << d.relative << " relative, " << d.absolute << " absolute");
  }
}
