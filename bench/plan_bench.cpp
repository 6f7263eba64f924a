// Memory-planning figures: for each example graph, the arena against the naive layout
// (every tensor its own buffer) and against the lower bound (the most bytes live at one
// step), for training and inference plans; and planning time on chains of 1k and 10k
// nodes, with 100k as a check of how the time scales. One JSON line per measurement.
//
//   bench_plan [--quick]     (--quick: the 1k chain only, 3 rounds)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "engine/builder.hpp"
#include "networks/models.hpp"
#include "cli/flags.hpp"
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

  // Planning time on chains, this thread's CPU time: plans made one after another in this
  // process, each freed outside the timed region, after one round that is not counted.
  // The machine's speed drifts by tens of percent over seconds (a shared VM), so the
  // sizes are measured in turn within each round, and the growth from one size to the
  // next is the median over rounds of each round's ratio (both sides of a ratio ran
  // moments apart). Times are medians over the rounds.
  const std::vector<int> sizes = quick ? std::vector<int>{1000} : std::vector<int>{1000, 10000, 100000};
  const int rounds = quick ? 3 : 9;
  std::vector<Graph> graphs;
  for (int n : sizes) graphs.push_back(chain(n));
  auto request = [](const Graph& g, PlanKind kind) {
    PlanRequest req;
    req.kind = kind;
    req.batch = 32;
    if (kind == PlanKind::Inference) req.outputs = {g.nodes.back().inputs.front()};
    else req.loss = "loss";
    return req;
  };
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  for (PlanKind kind : {PlanKind::Inference, PlanKind::Training}) {
    std::vector<std::vector<double>> ms(sizes.size());  // [size][round]
    std::vector<PlanStats> stats(sizes.size());
    for (int r = -1; r < rounds; ++r)  // round -1 is not counted
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        const PlanRequest req = request(graphs[i], kind);
        const double c0 = cpu_ms();
        Plan plan = make_plan(graphs[i], req);
        const double c = cpu_ms() - c0;
        if (r >= 0) ms[i].push_back(c);
        stats[i] = plan.stats;
      }
    for (std::size_t i = 0; i < sizes.size(); ++i)
      std::printf("{\"chain_nodes\":%zu,\"plan\":\"%s\",\"rounds\":%d,\"planning_cpu_ms_median\":%.2f,"
                  "\"planning_cpu_ms_range\":[%.2f,%.2f],\"arena_over_lower_bound\":%.4f,\"arena_over_naive\":%.4f,"
                  "\"strategy\":\"%s\"}\n",
                  graphs[i].nodes.size(), plan_kind_name(kind), rounds, median(ms[i]),
                  *std::min_element(ms[i].begin(), ms[i].end()), *std::max_element(ms[i].begin(), ms[i].end()),
                  double(stats[i].arena_bytes) / double(stats[i].lower_bound_bytes),
                  double(stats[i].arena_bytes) / double(stats[i].naive_bytes), stats[i].strategy.c_str());
    for (std::size_t i = 1; i < sizes.size(); ++i) {
      const double a = double(graphs[i - 1].nodes.size()), b = double(graphs[i].nodes.size());
      std::vector<double> ratio;
      for (int r = 0; r < rounds; ++r) ratio.push_back(ms[i][static_cast<std::size_t>(r)] / ms[i - 1][static_cast<std::size_t>(r)]);
      std::printf("{\"growth\":\"%zu->%zu\",\"plan\":\"%s\",\"cpu_ms_ratio\":%.2f,\"ratio_range\":[%.2f,%.2f],"
                  "\"n_log_n_ratio\":%.2f}\n",
                  graphs[i - 1].nodes.size(), graphs[i].nodes.size(), plan_kind_name(kind), median(ratio),
                  *std::min_element(ratio.begin(), ratio.end()), *std::max_element(ratio.begin(), ratio.end()),
                  b * std::log(b) / (a * std::log(a)));
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_plan: %s\n", e.what());
  return 1;
}
