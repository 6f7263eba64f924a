// bench_fuse: what fusing add_bias with the activation after it buys (planner/fuse.cpp).
// The same model, seed and inputs planned with PlanRequest::fuse on and off, run
// alternately; median wall µs per training step (or inference call) over rounds, and the
// arena bytes of both plans. Fused and unfused runs compute the same bits
// (tests/test_fuse.cpp); this checks only time and memory.
//   bench_fuse [--rounds R] [--quick]
// One thread is what this measures: run it with OPENBLAS_NUM_THREADS=1.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/builder.hpp"
#include "engine/executor.hpp"
#include "cli/flags.hpp"
#include "engine/optimizer.hpp"
#include "planner/plan.hpp"

using namespace plangrad;

namespace {

using ActFn = Value (GraphBuilder::*)(const Value&, std::string);

// in -> (dense width, act) x layers -> dense 10, softmax cross-entropy.
Model mlp(Dim in, Dim width, int layers, ActFn act) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, in}), labels = b.input("labels", {kBatchDim});
  Value h = x;
  for (int i = 0; i < layers; ++i) h = (b.*act)(b.dense(h, width, "fc" + std::to_string(i)), "act" + std::to_string(i));
  Value logits = b.dense(h, 10, "logits");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  return b.build(1);
}

// No GEMM: x [N, width] + bias, then act, then an MSE loss against t: what is left is the
// element-wise passes that fusion merges.
Model bias_act(Dim width, ActFn act) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, width}), t = b.input("labels", {kBatchDim, width});
  Value y = (b.*act)(b.add_bias(x, b.parameter("bias", {width}, init::zeros()), "z"), "logits");
  b.output(b.mse_loss(y, t, "loss"));
  b.output(y);
  return b.build(1);
}

struct Case {
  std::string name;
  Model model;
  Dim in, batch;
  bool training;
  bool targets;  // "labels" are targets [batch, in] (bias_act), not class indices [batch]
  int iters;     // timed runs per round
};

struct Side {
  Model model;
  std::unique_ptr<SGD<float>> sgd;
  std::unique_ptr<Executor<float>> ex;
};

Side make_side(const Case& c, bool fuse) {
  Side s{c.model, nullptr, nullptr};
  PlanRequest r;
  r.kind = c.training ? PlanKind::Training : PlanKind::Inference;
  r.batch = c.batch;
  r.fuse = fuse;
  if (!c.training) r.outputs = {"logits"};
  if (c.training) s.sgd = std::make_unique<SGD<float>>(s.model, SgdOptions{0.01, 0.9, 0.0});
  s.ex = std::make_unique<Executor<float>>(s.model, make_plan(s.model.graph, r), s.sgd.get());
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(c.batch * c.in)),
      y(static_cast<std::size_t>(c.targets ? c.batch * c.in : c.batch));
  for (float& v : x) v = u(rng);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(i % 10);
  s.ex->set_input("x", x.data(), x.size());
  if (c.training) s.ex->set_input("labels", y.data(), y.size());
  return s;
}

// Median µs per run over `iters` runs after a warm-up.
double time_runs(Executor<float>& ex, int iters) {
  for (int i = 0; i < std::max(3, iters / 10); ++i) ex.run();
  std::vector<double> us;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ex.run();
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) try {
  Flags flags(argc, argv);
  const bool quick = flags.has("--quick");
  const auto rounds = flags.get_int("--rounds", 5, 1, 1000);
  flags.finish();
  std::vector<Case> cases;
  cases.push_back({"relu 2-25x3-10 training, batch 100 (W1's widths)", mlp(2, 25, 3, &GraphBuilder::relu), 2, 100, true, false, 4000});
  cases.push_back({"relu 1024-2048x2-10 training, batch 256", mlp(1024, 2048, 2, &GraphBuilder::relu), 1024, 256, true, false, 20});
  cases.push_back({"tanh 1024-2048x2-10 training, batch 256", mlp(1024, 2048, 2, &GraphBuilder::tanh), 1024, 256, true, false, 20});
  cases.push_back({"relu 1024-2048x2-10 inference, batch 256", mlp(1024, 2048, 2, &GraphBuilder::relu), 1024, 256, false, false, 20});
  cases.push_back({"add_bias+relu, x [256, 4096], inference", bias_act(4096, &GraphBuilder::relu), 4096, 256, false, true, 400});
  cases.push_back({"add_bias+tanh+mse, x [256, 4096], training", bias_act(4096, &GraphBuilder::tanh), 4096, 256, true, true, 400});
  cases.push_back({"add_bias+relu+mse, x [64, 256], training", bias_act(256, &GraphBuilder::relu), 256, 64, true, true, 400});
  for (const Case& c : cases) {
    Side fused = make_side(c, true), plain = make_side(c, false);
    const int iters = quick ? 1 : c.iters;
    std::vector<double> f, p;
    for (int r = 0; r < (quick ? 1 : rounds); ++r) {
      f.push_back(time_runs(*fused.ex, iters));
      p.push_back(time_runs(*plain.ex, iters));
    }
    std::printf("{\"case\":\"%s\",\"fused_us\":%.2f,\"unfused_us\":%.2f,\"ratio\":%.3f,\"fused_steps\":%zu,"
                "\"fused_arena_bytes\":%zu,\"unfused_arena_bytes\":%zu,\"rounds\":%d}\n",
                c.name.c_str(), median(f), median(p), median(f) / median(p), fused.ex->plan().stats.fused_steps,
                fused.ex->plan().arena_bytes, plain.ex->plan().arena_bytes, quick ? 1 : static_cast<int>(rounds));
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_fuse: %s\n", e.what());
  return 1;
}
