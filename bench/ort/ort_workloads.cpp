// ONNX Runtime's side of the inference workloads (bench/run.sh runs it against
// bench_workloads): W5-mlp, W5-cnn at batch 1 and W5-mlp-b64, W5-cnn-b64 at batch 64, on
// the very weights plangrad runs. `bench_workloads --save-models DIR` writes W5's models
// (mlp.json, cnn.json), its batch-64 input (<m>.input.bin) and its logits on that input
// (<m>.logits.bin, raw float32); `plangrad export-onnx` makes <m>.onnx of each model.
//
// Through the C API (the header vendored in bench/third_party/onnxruntime): a session with
// intra_op_num_threads --threads (default 1), inter_op_num_threads 1, ORT_SEQUENTIAL, and the
// default graph optimizations (ORT_ENABLE_ALL); input and output tensors made once over
// caller buffers, the timed call is Run. The input is the first B rows of plangrad's; before
// timing, one Run's logits are compared with plangrad's ("max_abs_diff" in the JSON line), and
// the program fails when they differ by more than float rounding (not the same model).
//
//   ort_workloads --models DIR [--workloads W5-mlp,...|all] [--iters N] [--warmup N]
//                 [--threads N] [--quick]
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/peer_harness.hpp"
#include <onnxruntime_c_api.h>

namespace {

const std::vector<std::string> kAll = {"W5-mlp", "W5-cnn", "W5-mlp-b64", "W5-cnn-b64"};
constexpr std::int64_t kSavedBatch = 64;  // the rows of <m>.input.bin / <m>.logits.bin

const OrtApi* api = nullptr;

void check(OrtStatus* st, const char* what) {
  if (st == nullptr) return;
  const std::string msg = std::string(what) + ": " + api->GetErrorMessage(st);
  api->ReleaseStatus(st);
  throw std::runtime_error(msg);
}

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error(path + ": cannot open (bench_workloads --save-models writes it)");
  const std::streamsize bytes = in.tellg();
  if (bytes <= 0 || bytes % 4 != 0) throw std::runtime_error(path + ": not a float32 array");
  std::vector<float> v(static_cast<std::size_t>(bytes / 4));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), bytes);
  return v;
}

// The name of a session's input or output i.
std::string io_name(OrtSession* s, OrtAllocator* alloc, bool input) {
  char* name = nullptr;
  check(input ? api->SessionGetInputName(s, 0, alloc, &name) : api->SessionGetOutputName(s, 0, alloc, &name), "name");
  std::string r = name;
  check(api->AllocatorFree(alloc, name), "AllocatorFree");
  return r;
}

struct Session {
  OrtSession* session = nullptr;
  std::string input, output;
};

Session open(OrtEnv* env, OrtSessionOptions* so, const std::string& path) {
  Session s;
  check(api->CreateSession(env, path.c_str(), so, &s.session), "CreateSession");
  OrtAllocator* alloc = nullptr;
  check(api->GetAllocatorWithDefaultOptions(&alloc), "GetAllocatorWithDefaultOptions");
  s.input = io_name(s.session, alloc, true);
  s.output = io_name(s.session, alloc, false);
  return s;
}

void run_workload(const std::string& name, const harness::Args& a, OrtEnv* env, OrtSessionOptions* so,
                  OrtMemoryInfo* mem, const char* version) {
  const std::string m = name.rfind("W5-mlp", 0) == 0 ? "mlp" : "cnn";
  const std::int64_t batch = name.size() > 7 && name.substr(name.size() - 4) == "-b64" ? 64 : 1;
  const std::string base = a.models + "/" + m;
  const Session s = open(env, so, base + ".onnx");
  std::vector<float> x = read_floats(base + ".input.bin"), want = read_floats(base + ".logits.bin");
  const std::size_t features = x.size() / kSavedBatch, classes = want.size() / kSavedBatch;
  x.resize(static_cast<std::size_t>(batch) * features);
  std::vector<float> y(static_cast<std::size_t>(batch) * classes);
  const std::vector<std::int64_t> xdims = m == "mlp" ? std::vector<std::int64_t>{batch, std::int64_t(features)}
                                                     : std::vector<std::int64_t>{batch, 1, 28, 28};
  const std::vector<std::int64_t> ydims = {batch, std::int64_t(classes)};
  OrtValue* xv = nullptr;
  OrtValue* yv = nullptr;
  check(api->CreateTensorWithDataAsOrtValue(mem, x.data(), x.size() * sizeof(float), xdims.data(), xdims.size(),
                                            ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &xv),
        "CreateTensorWithDataAsOrtValue");
  check(api->CreateTensorWithDataAsOrtValue(mem, y.data(), y.size() * sizeof(float), ydims.data(), ydims.size(),
                                            ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &yv),
        "CreateTensorWithDataAsOrtValue");
  const char* in_name = s.input.c_str();
  const char* out_name = s.output.c_str();
  auto run = [&] { check(api->Run(s.session, nullptr, &in_name, &xv, 1, &out_name, 1, &yv), "Run"); };

  // The same model: logits within float rounding of plangrad's on the same input.
  run();
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    diff = std::max(diff, std::fabs(double(y[i]) - double(want[i])));
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  if (!(diff <= 1e-4 * (1 + scale)))
    throw std::runtime_error(base + ".onnx: logits differ from plangrad's by " + std::to_string(diff) +
                             " (not the model bench_workloads saved?)");

  char extra[160];
  std::snprintf(extra, sizeof extra, ",\"ort\":\"%s\",\"max_abs_diff\":%.3g", version, diff);
  const int def = batch == 1 ? (m == "mlp" ? 4000 : 2000) : (m == "mlp" ? 1000 : 200);
  harness::time_steps("ort", name, "none", a.threads, harness::plan(a, def), {}, run, {}, extra);
  api->ReleaseValue(yv);
  api->ReleaseValue(xv);
  api->ReleaseSession(s.session);
}

}  // namespace

int main(int argc, char** argv) try {
  const harness::Args a = harness::parse(argc, argv);
  if (a.models.empty()) throw std::invalid_argument("--models DIR is required");
  api = OrtGetApiBase()->GetApi(ORT_API_VERSION);
  if (!api) throw std::runtime_error("the library does not offer API version " + std::to_string(ORT_API_VERSION));
  const char* version = OrtGetApiBase()->GetVersionString();
  OrtEnv* env = nullptr;
  check(api->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "ort_workloads", &env), "CreateEnv");
  OrtSessionOptions* so = nullptr;
  check(api->CreateSessionOptions(&so), "CreateSessionOptions");
  check(api->SetIntraOpNumThreads(so, a.threads), "SetIntraOpNumThreads");
  check(api->SetInterOpNumThreads(so, 1), "SetInterOpNumThreads");
  check(api->SetSessionExecutionMode(so, ORT_SEQUENTIAL), "SetSessionExecutionMode");
  OrtMemoryInfo* mem = nullptr;
  check(api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &mem), "CreateCpuMemoryInfo");
  for (const std::string& name : harness::split(a.workloads, kAll)) {
    run_workload(name, a, env, so, mem, version);
  }
  api->ReleaseMemoryInfo(mem);
  api->ReleaseSessionOptions(so);
  api->ReleaseEnv(env);
  return 0;
} catch (const std::invalid_argument& e) {
  std::fprintf(stderr, "ort_workloads: %s\n", e.what());
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "ort_workloads: %s\n", e.what());
  return 1;
}
