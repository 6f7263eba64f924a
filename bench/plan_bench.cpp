// Memory-planning figures: for each example graph, the arena against the naive layout
// (every tensor its own buffer) and against the lower bound (the most bytes live at one
// step), for training and inference plans; and planning time on chains of 1k, 10k and
// 100k nodes. One JSON line per measurement.
//
//   bench_plan [--quick]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "engine/builder.hpp"
#include "engine/flags.hpp"
#include "ops/op.hpp"
#include "planner/plan.hpp"

using namespace plangrad;

namespace {

struct Example {
  std::string name;
  Graph graph;
  std::string loss, output;
  Dim batch;
};

Example mlp(const std::string& name, Dim in, const std::vector<Dim>& hidden, Dim classes, Dim batch) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, in}), labels = b.input("labels", {kBatchDim});
  Value h = x;
  for (std::size_t i = 0; i < hidden.size(); ++i) h = b.relu(b.dense(h, hidden[i], "fc" + std::to_string(i + 1)));
  Value logits = b.dense(h, classes, "logits");
  b.softmax_cross_entropy(logits, labels, "loss");
  return {name, b.graph(), "loss", "logits", batch};
}

Example circle() {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2}), y = b.input("y", {kBatchDim, 2});
  Value h = b.relu(b.dense(x, 25, "fc1"));
  h = b.relu(b.dense(h, 25, "fc2"));
  h = b.relu(b.dense(h, 25, "fc3"));
  Value out = b.tanh(b.dense(h, 2, "fc4"), "out");
  b.mse_loss(out, y, "loss");
  return {"circle-mlp", b.graph(), "loss", "out", 100};
}

Example residual() {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 16}), labels = b.input("labels", {kBatchDim});
  Value h = b.relu(b.dense(x, 32, "fc1"));
  Value a = b.tanh(b.dense(h, 32, "fc2"));
  Value r = b.add(h, a, "residual");
  Value logits = b.dense(r, 10, "fc3");
  b.softmax_cross_entropy(logits, labels, "loss");
  return {"residual-dag", b.graph(), "loss", "fc3", 64};
}

Example mnist_cnn() {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 1, 28, 28}), labels = b.input("labels", {kBatchDim});
  Value h = x;
  Dim channels = 1;
  for (Dim out : {16, 32}) {
    const std::string k = std::to_string(out);
    Value w = b.parameter("conv" + k + ".weight", {out, channels, 3, 3}, init::kaiming_uniform());
    Value bias = b.parameter("conv" + k + ".bias", {out}, init::zeros());
    h = b.op("conv2d", {h, w, bias}, {{"padding", std::vector<std::int64_t>{1, 1}}}, "conv" + k);
    Value gamma = b.parameter("bn" + k + ".gamma", {out}, init::constant(1));
    Value beta = b.parameter("bn" + k + ".beta", {out}, init::zeros());
    Value mean = b.state("bn" + k + ".running_mean", {out}, init::zeros());
    Value var = b.state("bn" + k + ".running_var", {out}, init::constant(1));
    h = b.relu(b.op("batchnorm", {h, gamma, beta, mean, var}, {}, "bn" + k));
    h = b.op("max_pool2d", {h}, {{"kernel", std::vector<std::int64_t>{2, 2}}}, "pool" + k);
    channels = out;
  }
  h = b.op("flatten", {h}, {}, "flatten");
  Value logits = b.dense(h, 10, "logits");
  b.softmax_cross_entropy(logits, labels, "loss");
  return {"mnist-cnn", b.graph(), "loss", "logits", 128};
}

// n nodes: (add_bias -> tanh) repeated, then an MSE loss.
Graph chain(int n) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 16}), y = b.input("y", {kBatchDim, 16});
  Value h = x;
  for (int i = 0; i + 1 < n; i += 2) {
    Value bias = b.parameter("b" + std::to_string(i), {16}, init::zeros());
    h = b.tanh(b.add_bias(h, bias, "add" + std::to_string(i)), "tanh" + std::to_string(i));
  }
  b.mse_loss(h, y, "loss");
  return b.graph();
}

// This thread's CPU time: on a shared machine it drifts far less than wall time.
double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

void report(const std::string& graph, const char* kind, const Plan& p) {
  const PlanStats& s = p.stats;
  std::printf("{\"graph\":\"%s\",\"plan\":\"%s\",\"naive_bytes\":%zu,\"arena_bytes\":%zu,\"lower_bound_bytes\":%zu,"
              "\"arena_over_lower_bound\":%.4f,\"arena_over_naive\":%.4f,\"tensors\":%zu,\"inplace\":%zu,"
              "\"strategy\":\"%s\",\"planning_ms\":%.3f}\n",
              graph.c_str(), kind, s.naive_bytes, s.arena_bytes, s.lower_bound_bytes,
              double(s.arena_bytes) / double(s.lower_bound_bytes), double(s.arena_bytes) / double(s.naive_bytes),
              s.tensors, s.inplace, s.strategy.c_str(), s.planning_ms);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags(argc, argv);
  const bool quick = flags.has("--quick");
  flags.finish();

  std::vector<Example> examples = {circle(), residual(), mlp("mlp-8x256", 256, std::vector<Dim>(8, 256), 10, 128),
                                   mlp("mnist-mlp", 784, {256, 128}, 10, 128)};
  if (lookup_op("conv2d") && lookup_op("batchnorm") && lookup_op("max_pool2d") && lookup_op("flatten"))
    examples.push_back(mnist_cnn());
  for (const Example& e : examples) {
    PlanRequest train;
    train.kind = PlanKind::Training;
    train.loss = e.loss;
    train.batch = e.batch;
    report(e.name, "training", make_plan(e.graph, train));
    PlanRequest infer;
    infer.outputs = {e.output};
    infer.batch = e.batch;
    report(e.name, "inference", make_plan(e.graph, infer));
  }

  // Planning time: the median of several runs, for inference and training plans.
  std::vector<int> sizes = quick ? std::vector<int>{1000} : std::vector<int>{1000, 10000, 100000};
  for (int n : sizes) {
    const Graph g = chain(n);
    for (PlanKind kind : {PlanKind::Inference, PlanKind::Training}) {
      std::vector<double> ms, cpu;
      Plan last;
      for (int r = 0; r < (n >= 100000 ? 3 : 5); ++r) {
        PlanRequest req;
        req.kind = kind;
        req.batch = 32;
        if (kind == PlanKind::Inference) req.outputs = {g.nodes.back().inputs.front()};
        else req.loss = "loss";
        const auto t0 = std::chrono::steady_clock::now();
        const double c0 = cpu_ms();
        last = make_plan(g, req);
        cpu.push_back(cpu_ms() - c0);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(ms.begin(), ms.end());
      std::sort(cpu.begin(), cpu.end());
      std::printf("{\"chain_nodes\":%zu,\"plan\":\"%s\",\"planning_ms_median\":%.2f,\"planning_cpu_ms_median\":%.2f,"
                  "\"arena_over_lower_bound\":%.4f,\"arena_over_naive\":%.4f,\"strategy\":\"%s\"}\n",
                  g.nodes.size(), plan_kind_name(kind), ms[ms.size() / 2], cpu[cpu.size() / 2],
                  double(last.stats.arena_bytes) / double(last.stats.lower_bound_bytes),
                  double(last.stats.arena_bytes) / double(last.stats.naive_bytes), last.stats.strategy.c_str());
    }
  }
  return 0;
}
