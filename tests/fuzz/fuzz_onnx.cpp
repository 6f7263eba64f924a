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
#include <utility>

#include "core/errors.hpp"
#include "onnx/import_entry.hpp"
#include "tests/fuzz/fuzz_steps.hpp"

using namespace plangrad;
using plangrad::fuzzing::run_once;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  plangrad::fuzzing::small_limits();
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
