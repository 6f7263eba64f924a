// export(import(file)): each of PyTorch's exports (tests/onnx/torch_models.py), imported by
// load_onnx (with and without a loss) and written back by save_onnx, runs in ONNX Runtime
// and gives PyTorch's outputs at batch 1 and 64. The measure is test_import.cpp's,
// max |ort - PyTorch| / max |PyTorch|, held to 1e-5; the largest per model is printed:
// build/tests/onnx_tests '[import_roundtrip]'. And the other way: plangrad's example
// networks, exported by save_onnx and imported by load_onnx, predict what they did.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "engine/executor.hpp"
#include "networks/models.hpp"
#include "onnx/onnx.hpp"
#include "planner/plan.hpp"
#include "tests/onnx/difference.hpp"
#include "tests/onnx/ort.hpp"
#include "tests/onnx/torch_files.hpp"
#include "tests/temp_dir.hpp"

namespace {

double relative_difference(const std::vector<float>& got, const std::vector<float>& want) {
  return plangrad::testing::difference(got, want).relative;
}

}  // namespace

TEST_CASE("PyTorch's exports, imported and exported again, run in ONNX Runtime with PyTorch's outputs",
          "[import_roundtrip]") {
  const plangrad::testing::TorchFiles& files = plangrad::testing::TorchFiles::get();
  plangrad::testing::TempDir dir;
  for (const auto& entry : files.manifest().at("models")) {
    const std::string name = entry.at("name");
    double worst = 0;
    int runs = 0;
    // The two ends of the range: the newest opset folded, the oldest not.
    for (const std::string suffix : {"_op17_fold.onnx", "_op11_nofold.onnx"}) {
      for (const char* loss : {"", "softmax_cross_entropy"}) {
        const std::string source = files.path(name + suffix);
        INFO(source << " loss '" << loss << "'");
        const plangrad::Model model = plangrad::load_onnx(source, {loss, ""});
        const std::string again = dir.file(name + suffix + (*loss ? ".loss" : "") + ".onnx");
        plangrad::save_onnx(model, again);
        for (const auto& c : entry.at("cases")) {
          const auto& in = c.at("input");
          const std::vector<std::int64_t> dims = in.at("shape");
          const auto out = plangrad::testing::run_ort(again, {{"x", {dims, files.floats(in.at("file"))}}});
          REQUIRE(out.size() == 1);
          const std::vector<std::int64_t> want_dims = c.at("output").at("shape");
          CHECK(out.begin()->second.dims == want_dims);
          const double d = relative_difference(out.begin()->second.values, files.floats(c.at("output").at("file")));
          CHECK(d <= 1e-5);
          worst = std::max(worst, d);
          ++runs;
        }
      }
    }
    CHECK(runs == 8);
    WARN(name << ": export(import(file)) in ONNX Runtime against PyTorch, largest relative difference over " << runs
              << " runs: " << worst);
  }
}

namespace {

// The non-scalar outputs of `model` for `x` at `batch`, by plangrad's inference plan.
std::vector<float> infer(plangrad::Model& model, const std::string& output, const std::vector<float>& x,
                         std::int64_t batch) {
  plangrad::PlanRequest request;
  request.kind = plangrad::PlanKind::Inference;
  request.batch = batch;
  request.outputs = {output};
  plangrad::Executor<float> ex(model, plangrad::make_plan(model.graph, request));
  ex.set_input("x", x.data(), x.size());
  ex.run();
  const auto out = ex.value(output);
  return std::vector<float>(out.begin(), out.end());
}

}  // namespace

TEST_CASE("plangrad's example networks, exported and imported back, predict what they did",
          "[import_roundtrip]") {
  // Every op those networks use exports to ONNX ops the importer reads: matmul and
  // add_bias (MatMul, Add), conv2d, batchnorm with moved statistics, max_pool2d, flatten,
  // normalize (Sub, Div), relu, tanh, add.
  plangrad::testing::TempDir dir;
  const std::pair<const char*, plangrad::GraphBuilder> cases[] = {
      {"circle_mlp", plangrad::models::circle_mlp()},
      {"circle_bn", plangrad::models::circle_bn()},
      {"mnist_cnn", plangrad::models::mnist_cnn(plangrad::models::InputStats{0.13, 0.31})},
      {"residual", plangrad::models::residual_dag()},
      {"ball_cnn", plangrad::models::ball_cnn()}};
  for (const auto& [name, builder] : cases) {
    INFO(name);
    plangrad::Model model = builder.build(5);
    for (auto& [state_name, t] : model.state) {  // running statistics away from 0 and 1
      const bool var = state_name.find("var") != std::string::npos;
      for (std::size_t i = 0; i < t.size(); ++i)
        t.data()[i] = var ? 0.5f + 0.1f * static_cast<float>(i % 7) : 0.05f * static_cast<float>(i % 5);
    }
    const std::string path = dir.file(std::string(name) + ".onnx");
    plangrad::save_onnx(model, path);
    plangrad::Model back = plangrad::load_onnx(path);
    REQUIRE(back.graph.outputs.size() == 1);
    const plangrad::ValueDecl* x = model.graph.find_value("x");
    REQUIRE(x != nullptr);
    std::size_t per = 1;
    for (std::size_t k = 1; k < x->shape.size(); ++k) per *= static_cast<std::size_t>(x->shape[k]);
    std::vector<float> xs(per * 5);
    for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = std::sin(0.37f * static_cast<float>(i));
    const std::string original_out = model.graph.outputs.back();  // the logits, after the loss
    const std::vector<float> want = infer(model, original_out, xs, 5);
    const std::vector<float> got = infer(back, back.graph.outputs.front(), xs, 5);
    const double d = relative_difference(got, want);
    CHECK(d <= 1e-6);
    WARN(name << ": import(export(model)) against the model, largest relative difference " << d);
  }
}
