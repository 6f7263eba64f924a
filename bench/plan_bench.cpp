// Memory-planning figures: for each example graph, the arena against the naive layout
// (every tensor its own buffer) and against the lower bound (the most bytes live at one
// step), for training and inference plans; and planning time on chains of 1k, 10k and
// 100k nodes. One JSON line per measurement.
//
//   bench_plan [--quick]
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "engine/builder.hpp"
#include "networks/models.hpp"
#include "cli/flags.hpp"
#include "planner/plan.hpp"

using namespace plangrad;

// Heap allocations, counted: the chain lines report how many a plan makes.
namespace {
std::atomic<long> g_allocations{0};
}  // namespace
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// GCC warns that free() meets a pointer from operator new: this operator new is malloc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

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

int main(int argc, char** argv) try {
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

  // Planning time on chains of 1k, 10k and 100k nodes, this thread's CPU time, two ways:
  //  - "first plan": a fresh process (fork) builds the chain and plans it once, as a
  //    program plans its model at start-up; every size pays the same first touches of
  //    fresh memory. These run first, while this process is small.
  //  - "first plan, graph read first": the same, but the child reads the graph's names
  //    once before the clock starts (what index_graph reads of it). The difference from
  //    "first plan" is the cost of this process's first read of the caller's graph,
  //    which this VM makes high at 100k nodes (bench/memory-planning.md).
  //  - "in process": plans made in this process one after another, the previous plan of
  //    the size freed outside the timed region, after one round that is not counted. (Not
  //    after the forks: a fork leaves every page of this process copy-on-write, and the
  //    first write to each costs a fault.)
  // The machine's speed drifts by tens of percent over seconds (a shared VM), so the sizes
  // are measured in turn within each round, and the growth from one size to the next is
  // the median over rounds of each round's ratio (paired: both sides of a ratio ran
  // moments apart). Medians of the times are over the rounds too.
  const std::vector<int> sizes = quick ? std::vector<int>{1000} : std::vector<int>{1000, 10000, 100000};
  const int rounds = quick ? 3 : 9;
  auto request = [](const Graph& g, PlanKind kind) {
    PlanRequest req;
    req.kind = kind;
    req.batch = 32;
    if (kind == PlanKind::Inference) req.outputs = {g.nodes.back().inputs.front()};
    else req.loss = "loss";
    return req;
  };
  auto first_plan = [&](int n, PlanKind kind, bool read_first) {
    int fd[2];
    if (pipe(fd) != 0) throw std::runtime_error("pipe failed");
    const pid_t child = fork();
    if (child < 0) throw std::runtime_error("fork failed");
    if (child == 0) {
      const Graph g = chain(n);
      if (read_first) {
        std::size_t chars = 0;
        for (const ValueDecl& v : g.values) chars += v.name.size();
        for (const Node& node : g.nodes) {
          chars += node.name.size() + node.op.size() + node.attrs.items().size();
          for (const std::string& name : node.inputs) chars += name.size();
          for (const std::string& name : node.outputs) chars += name.size();
        }
        volatile std::size_t sink = chars;
        (void)sink;
      }
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
    if (!got || status != 0) throw std::runtime_error("the planning child failed");
    return c;
  };
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const PlanKind kinds[2] = {PlanKind::Inference, PlanKind::Training};
  // [inference, training][first plan, in process, first plan with the graph read first]
  // [size][round]
  constexpr int kWays = 3;
  std::vector<std::vector<double>> cpu[2][kWays];
  for (int k = 0; k < 2; ++k) {
    for (auto& way : cpu[k]) way.resize(sizes.size());
    for (int r = 0; r < rounds; ++r)
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        cpu[k][0][i].push_back(first_plan(sizes[i], kinds[k], false));
        cpu[k][2][i].push_back(first_plan(sizes[i], kinds[k], true));
      }
  }
  std::vector<Graph> graphs;
  for (int n : sizes) graphs.push_back(chain(n));
  std::vector<Plan> last[2] = {std::vector<Plan>(sizes.size()), std::vector<Plan>(sizes.size())};
  std::vector<long> allocations[2] = {std::vector<long>(sizes.size()), std::vector<long>(sizes.size())};
  for (int k = 0; k < 2; ++k)
    for (int r = -1; r < rounds; ++r)  // round -1 is not counted
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        last[k][i] = Plan{};  // the previous plan is freed outside the timed region
        const PlanRequest req = request(graphs[i], kinds[k]);
        const long a0 = g_allocations.load();
        const double c0 = cpu_ms();
        Plan plan = make_plan(graphs[i], req);
        const double c = cpu_ms() - c0;
        allocations[k][i] = g_allocations.load() - a0;
        if (r >= 0) cpu[k][1][i].push_back(c);
        last[k][i] = std::move(plan);
      }
  for (int k = 0; k < 2; ++k) {
    const PlanKind kind = kinds[k];
    for (std::size_t i = 0; i < sizes.size(); ++i)
      std::printf("{\"chain_nodes\":%zu,\"plan\":\"%s\",\"rounds\":%d,\"first_plan_cpu_ms_median\":%.2f,"
                  "\"first_plan_read_first_cpu_ms_median\":%.2f,\"planning_cpu_ms_median\":%.2f,"
                  "\"allocations_per_node\":%.2f,"
                  "\"arena_over_lower_bound\":%.4f,\"arena_over_naive\":%.4f,\"strategy\":\"%s\"}\n",
                  graphs[i].nodes.size(), plan_kind_name(kind), rounds, median(cpu[k][0][i]), median(cpu[k][2][i]),
                  median(cpu[k][1][i]), double(allocations[k][i]) / double(graphs[i].nodes.size()),
                  double(last[k][i].stats.arena_bytes) / double(last[k][i].stats.lower_bound_bytes),
                  double(last[k][i].stats.arena_bytes) / double(last[k][i].stats.naive_bytes),
                  last[k][i].stats.strategy.c_str());
    for (std::size_t i = 1; i < sizes.size(); ++i) {
      const double a = double(graphs[i - 1].nodes.size()), b = double(graphs[i].nodes.size());
      double growth[kWays], lo[kWays], hi[kWays];
      for (int way = 0; way < kWays; ++way) {
        std::vector<double> ratio;
        for (int r = 0; r < rounds; ++r) ratio.push_back(cpu[k][way][i][r] / cpu[k][way][i - 1][r]);
        growth[way] = median(ratio);
        lo[way] = *std::min_element(ratio.begin(), ratio.end());
        hi[way] = *std::max_element(ratio.begin(), ratio.end());
      }
      std::printf("{\"growth\":\"%zu->%zu\",\"plan\":\"%s\",\"first_plan_cpu_ms_ratio\":%.2f,"
                  "\"first_plan_ratio_range\":[%.2f,%.2f],\"first_plan_read_first_cpu_ms_ratio\":%.2f,"
                  "\"first_plan_read_first_ratio_range\":[%.2f,%.2f],\"in_process_cpu_ms_ratio\":%.2f,"
                  "\"in_process_ratio_range\":[%.2f,%.2f],\"n_log_n_ratio\":%.2f}\n",
                  graphs[i - 1].nodes.size(), graphs[i].nodes.size(), plan_kind_name(kind), growth[0], lo[0], hi[0],
                  growth[2], lo[2], hi[2], growth[1], lo[1], hi[1], b * std::log(b) / (a * std::log(a)));
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_plan: %s\n", e.what());
  return 1;
}
