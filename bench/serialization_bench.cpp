// Saving and loading a ~1M-parameter model (a 784-1024-256-10 MLP, 1.07M parameters):
// the median of several runs of each, in milliseconds, and the file size.
//   bench_serialization [--runs 5] [--dir /tmp]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/builder.hpp"
#include "core/errors.hpp"
#include "cli/flags.hpp"
#include "serialization/model_json.hpp"

using namespace plangrad;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

template <class F>
double time_ms(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Flags flags(argc, argv);
    const auto runs = static_cast<int>(flags.get_int("--runs", 5, 1, 1000));
    const std::string dir = flags.get("--dir", std::filesystem::temp_directory_path().string());
    flags.finish();

    GraphBuilder b;
    Value x = b.input("x", {kBatchDim, 784});
    Value h = b.relu(b.dense(x, 1024, "fc1"));
    h = b.relu(b.dense(h, 256, "fc2"));
    b.output(b.dense(h, 10, "fc3"));
    const Model model = b.build(42);

    const std::string path = (std::filesystem::path(dir) / "plangrad-serialization-bench.json").string();
    std::vector<double> save_ms, load_ms, to_json_ms;
    std::size_t loaded_params = 0;
    for (int i = 0; i < runs; ++i) {
      to_json_ms.push_back(time_ms([&] { (void)model_to_json(model); }));
      save_ms.push_back(time_ms([&] { save_model(model, path); }));
      load_ms.push_back(time_ms([&] { loaded_params = load_model(path).parameter_count(); }));
    }
    const auto bytes = std::filesystem::file_size(path);
    std::filesystem::remove(path);
    if (loaded_params != model.parameter_count()) throw Error("loaded model differs");

    std::printf("model: 784-1024-256-10 MLP, %zu parameters (%zu bytes as float32)\n",
                model.parameter_count(), model.parameter_count() * sizeof(float));
    std::printf("file:  %ju bytes (%.1f bytes per parameter)\n", static_cast<std::uintmax_t>(bytes),
                static_cast<double>(bytes) / static_cast<double>(model.parameter_count()));
    std::printf("median of %d runs: model_to_json %.1f ms, save_model %.1f ms, load_model %.1f ms\n",
                runs, median(to_json_ms), median(save_ms), median(load_ms));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_serialization: %s\n", e.what());
    return 1;
  }
}
