// plangrad's side of the side-by-side benchmark with PyTorch (bench/torch_workloads.py is
// the other side; bench/run.sh alternates the two and prints the comparison).
//
//   W1      circle MLP 2-25-25-25-2 training step (ReLU, tanh out, MSE vs one-hot, SGD lr 0.1), batch 100
//   W2      circle batchnorm model 2-100-50-20-1 training step ((dense, batchnorm, relu) x3,
//           dense 1, BCE with logits, SGD lr 0.1 momentum 0.9 weight decay 1e-4), batch 64
//   W3      MLP 784-256-128-10 training step (ReLU, softmax CE, SGD lr 0.01 momentum 0.9), batch 128
//   W4      MNIST CNN training step (conv 1->16 3x3 pad 1, bn, relu, maxpool 2; conv 16->32, bn,
//           relu, maxpool 2; flatten; dense 1568->10; softmax CE), batch 128, Adam lr 1e-3
//   W5-mlp  W3's MLP, inference (Eval), batch 1
//   W5-cnn  W4's CNN, inference (Eval), batch 1
//   W5-mlp-b64, W5-cnn-b64  the same inference at batch 64
//   W3-real, W4-real        W3's and W4's training steps on real Fashion-MNIST batches (--data
//           DIR, default data/fashion-mnist): batch after batch in file order, each copied
//           into the input buffers before its step, outside the timed region
//           (bench/real_batches.hpp); 20 warm-up batches, then 200 timed
//
// The networks are networks/models.hpp's (the examples' own), built with seed 1. Inputs are
// random but fixed (seeded); every step reuses them (except in the -real workloads). Each
// workload warms up, then times `iters` steps one by one and reports the median (and the
// mean, "mean_us"), as one JSON line:
//   {"side":"plangrad","workload":"W3","us":...,"min_us":...,"iters":...,"threads":...,...}
// "cpu_us" is the median of this thread's CPU time per step (with one BLAS thread, the
// step's whole work; it leaves out the time other processes had the core);
// "faults_per_step" the page faults per step (0 here: the arena is touched once). W3 and
// W4 also time the step's GEMMs alone through raw cblas_sgemm (gemm_only_us;
// --no-gemm-only skips that, for profiling).
//
//   bench_workloads [--workloads W1,W3,...] [--iters N] [--warmup N] [--quick] [--no-gemm-only]
//                   [--no-fuse] [--data DIR]
//   bench_workloads --save-models DIR W5's models for bench/ort: mlp.json, cnn.json (the weights
//                                     timed here), each one's batch-64 input and its logits on it
//                                     (<m>.input.bin, <m>.logits.bin: raw float32)
//   bench_workloads --list            the workload names, one per line
//   bench_workloads --w4-optimizer    "adam" or "sgd": what W4 trains with here
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <fstream>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "bench/gemm_only.hpp"
#include "bench/real_batches.hpp"
#include "core/errors.hpp"
#include "engine/eval_roles.hpp"
#include "engine/executor.hpp"
#include "cli/flags.hpp"
#include "core/random.hpp"
#include "networks/models.hpp"
#include "serialization/model_json.hpp"

using namespace plangrad;

namespace {

// W4's optimizer, which the PyTorch side asks for (--w4-optimizer) so that both run the
// same: plangrad's Adam, PyTorch's defaults (betas 0.9, 0.999, eps 1e-8), lr 1e-3.
constexpr const char* kW4Optimizer = "adam";

// The GEMMs one training step makes, as ops/matmul.cpp and ops/conv2d.cpp call them.
// matmul forward: y[B,out] = x[B,in] W[in,out];  backward: dx = dy W^T (not for the
// first layer: its input x takes no gradient), dW = x^T dy.
std::vector<bench::GemmCall> dense_gemms(int batch, const std::vector<int>& sizes) {
  std::vector<bench::GemmCall> calls;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const int in = sizes[l], out = sizes[l + 1];
    calls.push_back({false, false, batch, out, in, 1});
    if (l > 0) calls.push_back({false, true, batch, in, out, 1});
    calls.push_back({true, false, in, out, batch, 1});
  }
  return calls;
}

// Per image (count = batch): conv forward y_n[F,OHW] = w[F,CKK] col[CKK,OHW];
// dw += dy_n col^T; dcol = w^T dy_n (conv2 only: conv1's input takes no gradient).
std::vector<bench::GemmCall> cnn_gemms(int batch) {
  std::vector<bench::GemmCall> calls = {
      {false, false, 16, 784, 9, batch},    {false, true, 16, 9, 784, batch},        // conv16
      {false, false, 32, 196, 144, batch},  {false, true, 32, 144, 196, batch},      // conv32
      {true, false, 144, 196, 32, batch}};                                           // conv32 dx
  for (const bench::GemmCall& g : dense_gemms(batch, {1568, 10})) calls.push_back(g);
  calls.push_back({false, true, batch, 1568, 10, 1});  // the dense layer's dx (flatten's gradient)
  return calls;
}

struct Workload {
  std::string name, optimizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<Optimizer<float>> opt;
  std::unique_ptr<Executor<float>> exec;
  std::vector<bench::GemmCall> gemms;  // empty: no GEMM-only figure
  int iters = 0;                       // default timed steps (same as the PyTorch side)
  int warmup = -1;                     // default warm-up steps; -1: a tenth of iters, at least 3
  std::unique_ptr<bench::RealBatches> real;  // the -real workloads: loads batch i before step i
};

// How an input is filled: features uniform in [0, 1), class indices below the logits'
// columns, 0/1 targets, or one-hot rows.
enum class Fill { Features, Classes, Binary, OneHot };
struct InputFill {
  std::string name;
  Fill fill;
};

// Fills the plan's inputs with fixed random data from one generator, input after input.
void fill_inputs(Executor<float>& e, const std::vector<InputFill>& inputs, std::size_t classes, std::uint64_t seed) {
  Rng rng(seed);
  for (const InputFill& in : inputs) {
    const TensorRef<float> t = e.input(in.name);
    const std::size_t n = t.size();
    switch (in.fill) {
      case Fill::Classes:
        for (std::size_t i = 0; i < n; ++i) t[i] = static_cast<float>(rng.next() % classes);
        break;
      case Fill::Binary:
        for (std::size_t i = 0; i < n; ++i) t[i] = static_cast<float>(rng.next() % 2);
        break;
      case Fill::OneHot: {
        const std::size_t C = static_cast<std::size_t>(t.dim(1));
        for (std::size_t r = 0; r < n / C; ++r) {
          const std::size_t hot = rng.next() % C;
          for (std::size_t c = 0; c < C; ++c) t[r * C + c] = c == hot ? 1.0f : 0.0f;
        }
        break;
      }
      case Fill::Features:
        for (std::size_t i = 0; i < n; ++i) t[i] = static_cast<float>(rng.uniform());
        break;
    }
  }
}

// The classes the model's logits tell apart (engine/eval_roles.hpp), for class-index
// inputs; 0 when nothing is filled with class indices.
std::size_t classes_for(const Model& model, const std::vector<InputFill>& inputs) {
  for (const InputFill& in : inputs)
    if (in.fill == Fill::Classes) return eval_roles(model.graph).classes;
  return 0;
}

// --no-fuse: plan every node as its own steps (no add_bias + activation fusion), to
// measure what fusion buys.
bool fuse_steps = true;

Workload training(const std::string& name, Model model, Dim batch, std::unique_ptr<Optimizer<float>> (*make_opt)(Model&),
                  const std::string& optimizer, const std::vector<InputFill>& inputs, int iters) {
  Workload w;
  w.name = name;
  w.optimizer = optimizer;
  w.model = std::make_unique<Model>(std::move(model));
  w.opt = make_opt(*w.model);
  PlanRequest req;
  req.kind = PlanKind::Training;
  req.batch = batch;
  req.fuse = fuse_steps;
  w.exec = std::make_unique<Executor<float>>(*w.model, make_plan(w.model->graph, req), w.opt.get());
  fill_inputs(*w.exec, inputs, classes_for(*w.model, inputs), 7);
  w.iters = iters;
  return w;
}

Workload inference(const std::string& name, Model model, const std::string& output, Dim batch, int iters) {
  Workload w;
  w.name = name;
  w.optimizer = "none";
  w.model = std::make_unique<Model>(std::move(model));
  PlanRequest req;
  req.kind = PlanKind::Inference;  // Eval mode: batchnorm uses its running statistics
  req.batch = batch;
  req.outputs = {output};
  req.fuse = fuse_steps;
  w.exec = std::make_unique<Executor<float>>(*w.model, make_plan(w.model->graph, req));
  fill_inputs(*w.exec, {{"x", Fill::Features}}, 0, 7);
  w.iters = iters;
  return w;
}

std::unique_ptr<Optimizer<float>> sgd(Model& m, double lr, double momentum, double weight_decay) {
  SgdOptions o;
  o.lr = lr;
  o.momentum = momentum;
  o.weight_decay = weight_decay;
  return std::make_unique<SGD<float>>(m, o);
}
std::unique_ptr<Optimizer<float>> sgd_w1(Model& m) { return sgd(m, 0.1, 0.0, 0.0); }
std::unique_ptr<Optimizer<float>> sgd_w2(Model& m) { return sgd(m, 0.1, 0.9, 1e-4); }
std::unique_ptr<Optimizer<float>> sgd_w3(Model& m) { return sgd(m, 0.01, 0.9, 0.0); }
std::unique_ptr<Optimizer<float>> opt_w4(Model& m) {
  AdamOptions o;
  o.lr = 1e-3;
  return std::make_unique<Adam<float>>(m, o);
}

const std::vector<std::string> kAll = {"W1",         "W2",         "W3",      "W4",     "W5-mlp", "W5-cnn",
                                       "W5-mlp-b64", "W5-cnn-b64", "W3-real", "W4-real"};

// Where the -real workloads read Fashion-MNIST (--data).
std::string data_dir = "data/fashion-mnist";

// W3's or W4's training step walking over real batches instead of one fixed batch.
Workload real_batches(Workload w) {
  w.name += "-real";
  w.gemms.clear();
  w.iters = 200;
  w.warmup = bench::kRealWarmup;
  w.real = std::make_unique<bench::RealBatches>(data_dir, *w.exec);
  return w;
}

Workload make_workload(const std::string& name) {
  const InputFill x{"x", Fill::Features}, labels{"labels", Fill::Classes};
  if (name == "W1") return training(name, models::circle_mlp().build(1), 100, sgd_w1, "sgd", {x, {"y", Fill::OneHot}}, 4000);
  if (name == "W2")
    return training(name, models::circle_bn().build(1), 64, sgd_w2, "sgd_momentum_wd", {x, {"y", Fill::Binary}}, 2000);
  if (name == "W3") {
    Workload w = training(name, models::mnist_mlp().build(1), 128, sgd_w3, "sgd_momentum", {x, labels}, 200);
    w.gemms = dense_gemms(128, {784, 256, 128, 10});
    return w;
  }
  if (name == "W4") {
    Workload w = training(name, models::mnist_cnn().build(1), 128, opt_w4, kW4Optimizer, {x, labels}, 20);
    w.gemms = cnn_gemms(128);
    return w;
  }
  if (name == "W5-mlp") return inference(name, models::mnist_mlp().build(1), "logits", 1, 4000);
  if (name == "W5-cnn") return inference(name, models::mnist_cnn().build(1), "logits", 1, 2000);
  if (name == "W5-mlp-b64") return inference(name, models::mnist_mlp().build(1), "logits", 64, 1000);
  if (name == "W5-cnn-b64") return inference(name, models::mnist_cnn().build(1), "logits", 64, 200);
  if (name == "W3-real") return real_batches(make_workload("W3"));
  if (name == "W4-real") return real_batches(make_workload("W4"));
  throw UsageError("unknown workload '" + name + "' (bench_workloads --list names them)");
}

// This thread's CPU time: with one BLAS thread the whole step runs on it, and on a busy
// machine it drifts far less than wall time (it leaves out the time others had the core).
double thread_cpu_us() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) * 1e-3;
}

// Page faults this thread has taken: a step that allocates fresh memory faults (10-13 us
// per 4 KiB page on this machine, DESIGN.md), and part of that cost is not CPU time.
long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_minflt;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

void run(Workload& w, int warmup, int iters, bool gemm_only) {
  int batch = 0;  // the -real workloads' next batch
  for (int i = 0; i < warmup; ++i) {
    if (w.real) w.real->load(batch++);
    w.exec->run();
  }
  std::vector<double> us, cpu;
  us.reserve(static_cast<std::size_t>(iters));
  cpu.reserve(static_cast<std::size_t>(iters));
  float sink = 0;
  const bool has_loss = w.exec->plan().schedule.loss >= 0;
  const long faults0 = minor_faults();
  for (int i = 0; i < iters; ++i) {
    if (w.real) w.real->load(batch++);
    const double c0 = thread_cpu_us();
    const auto t0 = std::chrono::steady_clock::now();
    w.exec->run();
    const auto t1 = std::chrono::steady_clock::now();
    cpu.push_back(thread_cpu_us() - c0);
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    if (has_loss) sink += w.exec->loss();
  }
  const double faults = double(minor_faults() - faults0) / iters;
  const double med = median(us), best = *std::min_element(us.begin(), us.end());
  const double mean = std::accumulate(us.begin(), us.end(), 0.0) / iters;
  std::printf("{\"side\":\"plangrad\",\"workload\":\"%s\",\"us\":%.2f,\"min_us\":%.2f,\"mean_us\":%.2f,"
              "\"cpu_us\":%.2f,\"faults_per_step\":%.2f,\"iters\":%d,\"threads\":%d,\"optimizer\":\"%s\","
              "\"loss\":%.6g",
              w.name.c_str(), med, best, mean, median(cpu), faults, iters, bench::blas_threads(), w.optimizer.c_str(),
              double(sink) / iters);
  if (w.real) std::printf(",\"data\":\"fashion-mnist train, file order\"");
  if (gemm_only && !w.gemms.empty()) {
    const double flops = bench::gemm_flops(w.gemms);
    const bench::GemmTiming g = bench::time_gemms(w.gemms, std::max(1, warmup / 2), iters);
    std::printf(",\"gemm_mflop\":%.2f,\"gflops\":%.2f,\"gemm_only_us\":%.2f,\"gemm_only_cpu_us\":%.2f,"
                "\"gemm_only_gflops\":%.2f,\"step_over_gemm\":%.3f,\"cpu_step_over_gemm\":%.3f",
                flops * 1e-6, flops / med * 1e-3, g.wall_us, g.cpu_us, flops / g.wall_us * 1e-3, med / g.wall_us,
                median(cpu) / g.cpu_us);
  }
  std::printf("}\n");
  std::fflush(stdout);
}

void write_floats(const std::string& path, const float* v, std::size_t n) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(v), static_cast<std::streamsize>(n * sizeof(float)));
  if (!out) throw DataError(path + ": cannot write");
}

// What bench/ort needs to run W5's very models: the models, the batch-64 input plangrad
// times (batch 1 is its first row) and the logits plangrad computes on it.
void save_models(const std::string& dir) {
  for (const std::string m : {"mlp", "cnn"}) {
    Workload w = make_workload("W5-" + m + "-b64");
    save_model(*w.model, dir + "/" + m + ".json");
    w.exec->run();
    const TensorRef<float> x = w.exec->input("x");
    const TensorRef<const float> logits = w.exec->value("logits");
    write_floats(dir + "/" + m + ".input.bin", x.data, x.size());
    write_floats(dir + "/" + m + ".logits.bin", logits.data, logits.size());
  }
}

// "W1,W3" -> {"W1", "W3"}; "all" -> every workload.
std::vector<std::string> split(const std::string& s) {
  if (s == "all") return kAll;
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) try {
  Flags flags(argc, argv);
  const bool list = flags.has("--list"), print_opt = flags.has("--w4-optimizer"), quick = flags.has("--quick");
  const bool gemm_only = !flags.has("--no-gemm-only");
  fuse_steps = !flags.has("--no-fuse");
  const std::string names = flags.get("--workloads", "all");
  data_dir = flags.get("--data", data_dir);
  const std::string models_dir = flags.get("--save-models", "");
  const auto iters = flags.get_int("--iters", 0, 0, 100000000);
  const auto warmup = flags.get_int("--warmup", -1, -1, 100000000);
  flags.finish();
  if (list) {
    for (const std::string& n : kAll) std::printf("%s\n", n.c_str());
    return 0;
  }
  if (print_opt) {
    std::printf("%s\n", kW4Optimizer);
    return 0;
  }
  if (!models_dir.empty()) {
    save_models(models_dir);
    return 0;
  }
  for (const std::string& name : split(names)) {
    Workload w = make_workload(name);
    // --quick: one warm-up step and one timed step, to show the suite works.
    const int n = quick ? 1 : iters > 0 ? static_cast<int>(iters) : w.iters;
    const int wu = quick                ? 1
                   : warmup >= 0        ? static_cast<int>(warmup)
                   : w.warmup >= 0      ? w.warmup
                                        : std::max(3, w.iters / 10);
    run(w, wu, n, gemm_only);
  }
  return 0;
} catch (const UsageError& e) {
  std::fprintf(stderr, "bench_workloads: %s\n", e.what());
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_workloads: %s\n", e.what());
  return 1;
}
