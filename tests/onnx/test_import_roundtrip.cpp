// export(import(file)): each of PyTorch's exports (tests/onnx/torch_models.py), imported by
// load_onnx (with and without a loss) and written back by save_onnx, runs in ONNX Runtime
// and gives PyTorch's outputs at batch 1 and 64. The measure is test_import.cpp's,
// max |ort - PyTorch| / max |PyTorch|, held to 1e-5; the largest per model is printed:
// build/tests/onnx_tests '[import_roundtrip]'.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "onnx/onnx.hpp"
#include "tests/onnx/ort.hpp"
#include "tests/onnx/torch_files.hpp"
#include "tests/temp_dir.hpp"

namespace {

double relative_difference(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  double largest = 0, diff = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    REQUIRE(std::isfinite(got[i]));
    largest = std::max(largest, std::fabs(static_cast<double>(want[i])));
    diff = std::max(diff, std::fabs(static_cast<double>(got[i]) - want[i]));
  }
  return largest > 0 ? diff / largest : diff;
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
