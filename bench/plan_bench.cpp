// Memory-planning figures: for each example graph, the arena against the naive layout
// (every tensor its own buffer) and against the lower bound (the most bytes live at one
// step), for training and inference plans; and planning time on chains of 1k, 10k and
// 100k nodes. One JSON line per measurement.
//
//   bench_plan [--quick]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "engine/builder.hpp"
#include "engine/models.hpp"
#include "engine/flags.hpp"
#include "planner/plan.hpp"

using namespace plangrad;

namespace {

struct Example {
  std::string name;
  Graph graph;
  std::string loss, output;
  Dim batch;
};

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
              "\"fused_away\":%zu,\"fused_steps\":%zu,\"strategy\":\"%s\",\"planning_ms\":%.3f}\n",
              graph.c_str(), kind, s.naive_bytes, s.arena_bytes, s.lower_bound_bytes,
              double(s.arena_bytes) / double(s.lower_bound_bytes), double(s.arena_bytes) / double(s.naive_bytes),
              s.tensors, s.inplace, s.fused_away, s.fused_steps, s.strategy.c_str(), s.planning_ms);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags(argc, argv);
  const bool quick = flags.has("--quick");
  flags.finish();

  const std::vector<Example> examples = {
      {"circle-mlp", models::circle_mlp().graph(), "loss", "out", 100},
      {"circle-bn", models::circle_bn().graph(), "loss", "logit", 64},
      {"residual-dag", models::residual_dag().graph(), "loss", "logits", 64},
      {"mlp-8x256", models::mlp(256, std::vector<Dim>(8, 256), 10).graph(), "loss", "logits", 128},
      {"mnist-mlp", models::mnist_mlp().graph(), "loss", "logits", 128},
      {"mnist-cnn", models::mnist_cnn().graph(), "loss", "logits", 128},
      // What examples/mnist trains: the same models behind a normalize node.
      {"mnist-mlp-normalized", models::mnist_mlp({0.2860, 0.3530}).graph(), "loss", "logits", 128},
      {"mnist-cnn-normalized", models::mnist_cnn({0.2860, 0.3530}).graph(), "loss", "logits", 128},
  };
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

  // Planning time, two ways, each the median of 5 runs of this thread's CPU time:
  //  - "first plan": a fresh process (fork) builds the chain and plans it once, as a
  //    program plans its model at start-up; every size pays the same first touches of
  //    fresh memory.
  //  - "in process": 5 plans in a row in this process, the previous one freed outside the
  //    timed region. Here the sizes are not alike: glibc keeps freed memory for reuse up to
  //    a threshold (64 MB at most) and returns the rest to the kernel, so a 10k plan reuses
  //    warm pages while a 100k plan faults fresh ones in again.
  // Then the growth from each size to the next against n log n's (12.5x from 10k to 100k).
  std::vector<int> sizes = quick ? std::vector<int>{1000} : std::vector<int>{1000, 10000, 100000};
  std::vector<std::size_t> nodes;
  std::vector<double> median[2][2];  // [first plan, in process][inference, training], per size
  auto request = [](const Graph& g, PlanKind kind) {
    PlanRequest req;
    req.kind = kind;
    req.batch = 32;
    if (kind == PlanKind::Inference) req.outputs = {g.nodes.back().inputs.front()};
    else req.loss = "loss";
    return req;
  };
  for (int n : sizes) {
    for (PlanKind kind : {PlanKind::Inference, PlanKind::Training}) {
      std::vector<double> first;
      for (int r = 0; r < 5; ++r) {
        int fd[2];
        if (pipe(fd) != 0) return 1;
        const pid_t child = fork();
        if (child < 0) return 1;
        if (child == 0) {
          const Graph g = chain(n);
          const double c0 = cpu_ms();
          const Plan plan = make_plan(g, request(g, kind));
          const double c = cpu_ms() - c0;
          _exit(write(fd[1], &c, sizeof c) == sizeof c ? 0 : 1);
        }
        double c = -1;
        const bool got = read(fd[0], &c, sizeof c) == sizeof c;
        close(fd[0]);
        close(fd[1]);
        int status = 0;
        waitpid(child, &status, 0);
        if (!got || status != 0) return 1;
        first.push_back(c);
      }
      std::sort(first.begin(), first.end());
      median[0][kind == PlanKind::Training].push_back(first[first.size() / 2]);
    }
    const Graph g = chain(n);
    for (PlanKind kind : {PlanKind::Inference, PlanKind::Training}) {
      std::vector<double> ms, cpu;
      Plan last;
      for (int r = 0; r < 5; ++r) {
        last = Plan{};  // the previous plan is freed outside the timed region
        const auto t0 = std::chrono::steady_clock::now();
        const double c0 = cpu_ms();
        Plan plan = make_plan(g, request(g, kind));
        cpu.push_back(cpu_ms() - c0);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        last = std::move(plan);
      }
      std::sort(ms.begin(), ms.end());
      std::sort(cpu.begin(), cpu.end());
      const int k = kind == PlanKind::Training;
      median[1][k].push_back(cpu[cpu.size() / 2]);
      std::printf("{\"chain_nodes\":%zu,\"plan\":\"%s\",\"first_plan_cpu_ms_median\":%.2f,"
                  "\"planning_ms_median\":%.2f,\"planning_cpu_ms_median\":%.2f,"
                  "\"arena_over_lower_bound\":%.4f,\"arena_over_naive\":%.4f,\"strategy\":\"%s\"}\n",
                  g.nodes.size(), plan_kind_name(kind), median[0][k].back(), ms[ms.size() / 2], cpu[cpu.size() / 2],
                  double(last.stats.arena_bytes) / double(last.stats.lower_bound_bytes),
                  double(last.stats.arena_bytes) / double(last.stats.naive_bytes), last.stats.strategy.c_str());
    }
    nodes.push_back(g.nodes.size());
  }
  for (std::size_t i = 1; i < nodes.size(); ++i)
    for (int k = 0; k < 2; ++k) {
      const double a = double(nodes[i - 1]), b = double(nodes[i]);
      std::printf("{\"growth\":\"%zu->%zu\",\"plan\":\"%s\",\"first_plan_cpu_ms_ratio\":%.2f,"
                  "\"in_process_cpu_ms_ratio\":%.2f,\"n_log_n_ratio\":%.2f}\n",
                  nodes[i - 1], nodes[i], k ? "training" : "inference", median[0][k][i] / median[0][k][i - 1],
                  median[1][k][i] / median[1][k][i - 1], b * std::log(b) / (a * std::log(a)));
    }
  return 0;
}
