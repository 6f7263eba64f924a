// bench_winograd: the inference plans of the MNIST CNN and the residual CNN (networks/) at
// batch 1 and 64, their 3x3 convolutions direct (PlanRequest::winograd = false) and by
// Winograd's F(2x2, 3x3) as the planner picks them (planner/winograd.cpp: those with
// kWinogradMinOutputs outputs per filter or more; ops/conv2d_winograd.hpp gives the figures
// with that bound set to 1, every eligible convolution by Winograd). One thread
// (set_op_threads(1); run with OPENBLAS_NUM_THREADS=1); the median of this thread's CPU
// time per run of the plan (bench/cpu_time.hpp). Not part of bench/run.sh, whose W5
// workloads time the MNIST CNN's plans against ONNX Runtime.
//
//   OPENBLAS_NUM_THREADS=1 bench_winograd
#include <cstdio>
#include <string>
#include <vector>

#include "bench/cpu_time.hpp"
#include "engine/executor.hpp"
#include "kernels/parallel.hpp"
#include "networks/models.hpp"
#include "networks/resnet.hpp"
#include "planner/plan.hpp"

using namespace plangrad;

namespace {

double run_us(Model& m, std::int64_t batch, bool winograd, std::size_t& winograd_steps) {
  PlanRequest r;
  r.kind = PlanKind::Inference;
  r.batch = batch;
  r.outputs = {"logits"};
  r.winograd = winograd;
  const Plan p = make_plan(m.graph, r);
  winograd_steps = 0;
  for (const Step& s : p.schedule.steps)
    if (s.node >= 0 && p.graph.nodes[static_cast<std::size_t>(s.node)].op->name == "winograd_filters") ++winograd_steps;
  Executor<float> ex(m, p);
  std::vector<float> x(static_cast<std::size_t>(batch) * 28 * 28);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 2654435761u) % 1000) * 1e-3f;
  ex.set_input("x", x.data(), x.size());
  return bench_clock::median_us([&] { ex.run(); }, 50, 5e5);
}

}  // namespace

int main() {
  set_op_threads(1);
  struct Net {
    const char* name;
    Model model;
  };
  Net nets[] = {{"mnist-cnn", models::mnist_cnn().build(3)}, {"fashion-resnet", models::fashion_resnet().build(4)}};
  std::printf("| model | batch | direct µs | Winograd µs | ratio | convolutions by Winograd |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  for (Net& n : nets)
    for (std::int64_t batch : {1, 64}) {
      std::size_t none = 0, planned = 0;
      const double direct = run_us(n.model, batch, false, none);
      const double wino = run_us(n.model, batch, true, planned);
      std::printf("| %s | %lld | %.1f | %.1f | %.3f | %zu |\n", n.name, static_cast<long long>(batch), direct, wino,
                  wino / direct, planned);
    }
  return 0;
}
