// libFuzzer target: an ONNX file from anyone, through load_onnx's importer (the bytes
// entry point, external data refused) and, when it imports, plangrad's planner and one
// inference run; imported again with an MSE loss, one training step. Importing either
// gives a model or throws a plangrad::Error; anything else (a crash, a sanitizer report,
// std::bad_alloc, a protobuf abort) is a bug. Seeds (tests/fuzz/onnx_corpus): two of
// PyTorch's exports (tests/onnx/torch_models.py's pooling and view-flatten models, opset
// 13) and four small graphs written with python3-onnx's helper (Gemm with alpha and
// beta; MatMul, Add, Reshape by a Constant at opset 11; Conv, BatchNormalization, MaxPool,
// GlobalAveragePool; Sub, Div, Pad, Conv, AveragePool, GlobalAveragePool, Reshape,
// Softmax at opset 12). Build and run with scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/errors.hpp"
#include "core/limits.hpp"
#include "engine/executor.hpp"
#include "engine/optimizer.hpp"
#include "kernels/parallel.hpp"
#include "onnx/import_entry.hpp"
#include "planner/plan.hpp"

namespace {

using namespace plangrad;

void feed(Executor<float>& ex) {
  for (const ValueDecl& v : ex.model().graph.values) {
    if (v.kind != ValueKind::Input) continue;
    const TensorRef<float> in = ex.input(v.name);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i % 2);
  }
}

void run_once(Model& model, PlanKind kind) {
  PlanRequest request;
  request.kind = kind;
  request.batch = 2;
  const Plan plan = make_plan(model.graph, request);
  if (kind == PlanKind::Training) {
    SGD<float> sgd(model, SgdOptions{0.01, 0.9, 0.0});
    Executor<float> ex(model, plan, &sgd);
    feed(ex);
    ex.run();
  } else {
    Executor<float> ex(model, plan);
    feed(ex);
    ex.run();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Limits l = limits();
  l.tensor_elements = 4096;
  l.arena_bytes = std::uint64_t{64} << 20;
  l.nodes = 256;
  set_limits(l);
  set_op_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::pair<PlanKind, const char*> runs[] = {{PlanKind::Inference, ""}, {PlanKind::Training, "mse"}};
  for (const auto& [kind, loss] : runs) {
    Model model;
    try {
      model = onnx_import::import_bytes(bytes, "fuzz.onnx", "", OnnxImportOptions{loss, ""});
    } catch (const Error&) {
      return 0;
    }
    try {
      run_once(model, kind);
    } catch (const Error&) {
    }
  }
  return 0;
}
