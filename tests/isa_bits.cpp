// isa_bits: a few training steps of several models on this process's kernel path
// (kernels/isa.hpp), one line per run: "<run> <class> <hash>", the hash (FNV-1a) of every
// step's loss and of an inference pass's output bits after the steps. tests/cli/isa_bits.sh
// runs it once per path the CPU supports and compares the lines:
//   class "all": only element-wise ops (no GEMM); the same bits on every path.
//   class "fma": GEMMs too; the same bits on avx2 and avx512, which sum in the same order
//                with the same FMAs, and other bits on generic, which has no FMA.
//   class "conv": stride-1 convolutions, whose weight gradient avx512 sums by conv_dw and
//                the other paths by im2col + GEMM (kernels/conv_dw.hpp conv_dw_preferred):
//                other bits on avx512 than on avx2, and on generic than on avx2.
// `isa_bits --paths` prints the paths this CPU supports, best first.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "core/random.hpp"
#include "engine/builder.hpp"
#include "engine/executor.hpp"
#include "engine/optimizer.hpp"
#include "kernels/isa.hpp"
#include "kernels/parallel.hpp"
#include "networks/models.hpp"
#include "planner/plan.hpp"

using namespace plangrad;

namespace {

struct Hash {
  std::uint64_t h = 1469598103934665603ULL;
  void add(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ULL;
  }
};

// The graph's inputs (all of them, or "x" alone), filled from one generator: class indices
// below `classes` for "labels", 0/1 for "t" and one-column targets "y", values in [-1, 1)
// otherwise.
void fill(Executor<float>& ex, const Graph& graph, bool x_only, std::size_t classes, std::uint64_t seed) {
  Rng rng(seed);
  for (const ValueDecl& v : graph.values) {
    if (v.kind != ValueKind::Input || (x_only && v.name != "x")) continue;
    const TensorRef<float> t = ex.input(v.name);
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (v.name == "labels")
        t[i] = static_cast<float>(rng.next() % classes);
      else if (v.name == "t" || (v.name == "y" && t.shape.size() == 2 && t.shape[1] == 1))
        t[i] = static_cast<float>(rng.next() % 2);
      else
        t[i] = static_cast<float>(rng.uniform(-1.0, 1.0));
    }
  }
}

std::unique_ptr<Optimizer<float>> optimizer(Model& m, bool adam) {
  if (adam) {
    AdamOptions o;
    o.lr = 1e-2;
    o.weight_decay = 1e-3;
    return std::make_unique<Adam<float>>(m, o);
  }
  SgdOptions o;
  o.lr = 0.05;
  o.momentum = 0.9;
  o.weight_decay = 1e-4;
  return std::make_unique<SGD<float>>(m, o);
}

// `steps` training steps at batch `batch`, then an Eval-mode pass over `output`.
void run(const char* name, const char* cls, Model model, Dim batch, bool adam, int steps, const std::string& output,
         std::size_t classes) {
  Hash hash;
  std::unique_ptr<Optimizer<float>> opt = optimizer(model, adam);
  PlanRequest train;
  train.kind = PlanKind::Training;
  train.batch = batch;
  {
    Executor<float> ex(model, make_plan(model.graph, train), opt.get());
    fill(ex, model.graph, false, classes, 7);
    for (int s = 0; s < steps; ++s) {
      ex.run();
      const float loss = ex.loss();
      hash.add(&loss, sizeof loss);
    }
  }
  PlanRequest eval;
  eval.kind = PlanKind::Inference;
  eval.batch = batch;
  eval.outputs = {output};
  Executor<float> ex(model, make_plan(model.graph, eval));
  fill(ex, model.graph, true, classes, 8);
  ex.run();
  const TensorRef<const float> y = ex.value(output);
  hash.add(y.data, y.size() * sizeof(float));
  std::printf("%s %s %016llx\n", name, cls, static_cast<unsigned long long>(hash.h));
}

// Every element-wise op, and no GEMM: normalize, add_bias + relu / sigmoid / tanh (fused),
// batchnorm over [N, C] and [N, C, H, W], add, reshape, max_pool2d and the three losses.
GraphBuilder elementwise_graph() {
  GraphBuilder b;
  const Value x = b.input("x", {kBatchDim, 8});
  const Value t = b.input("t", {kBatchDim, 8});
  const Value labels = b.input("labels", {kBatchDim});
  const Value xn = b.op("normalize", {x}, {{"mean", 0.25}, {"std", 0.5}});
  const Value h1 = b.relu(b.add_bias(xn, b.parameter("b1", {8}, init::kaiming_uniform())));
  const Value h2 = b.sigmoid(b.add_bias(h1, b.parameter("b2", {8}, init::kaiming_uniform())));
  const Value h3 = b.tanh(b.add_bias(h2, b.parameter("b3", {8}, init::kaiming_uniform())));
  const Value s = b.add(models::batchnorm(b, h3, 8, "bn1"), h1);
  const Value img = b.op("reshape", {s}, {{"shape", std::vector<std::int64_t>{-1, 2, 2, 2}}});
  const Value pooled = models::max_pool2(b, models::batchnorm(b, img, 2, "bn2"), "pool");
  const Value logits = b.op("reshape", {pooled}, {{"shape", std::vector<std::int64_t>{-1, 2}}}, "logits");
  const Value bce = b.binary_cross_entropy_with_logits(b.tanh(h2), t);
  const Value loss = b.add(b.add(b.softmax_cross_entropy(logits, labels), bce), b.mse_loss(h3, xn), "loss");
  b.output(loss);
  b.output(logits);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 2 && std::strcmp(argv[1], "--paths") == 0) {
      for (const Isa isa : {Isa::avx512, Isa::avx2, Isa::generic})
        if (cpu_supports(isa)) std::printf("%s\n", isa_name(isa));
      return 0;
    }
    if (argc != 1) {
      std::fprintf(stderr, "usage: isa_bits [--paths]\n");
      return 2;
    }
    std::printf("path %s\n", kernel_path_name());
    set_op_threads(1);
    run("elementwise-sgd", "all", elementwise_graph().build(3), 16, false, 5, "logits", 2);
    run("elementwise-adam", "all", elementwise_graph().build(4), 16, true, 5, "logits", 2);
    run("circle", "fma", models::circle_mlp().build(1), 100, false, 5, "out", 2);
    run("circle-bn", "fma", models::circle_bn().build(1), 64, false, 5, "logit", 2);
    run("residual", "fma", models::residual_dag().build(1), 32, true, 5, "logits", 10);
    run("mnist-mlp", "fma", models::mnist_mlp().build(1), 16, false, 3, "logits", 10);
    run("mnist-cnn", "conv", models::mnist_cnn().build(1), 8, true, 2, "logits", 10);
    // Split between threads: conv2d's images, batchnorm's channels and max_pool2d's planes
    // run in parts (with the same parts on every path).
    set_op_threads(2);
    run("mnist-cnn-2-threads", "conv", models::mnist_cnn().build(1), 32, true, 2, "logits", 10);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "isa_bits: %s\n", e.what());
    return 1;
  }
}
