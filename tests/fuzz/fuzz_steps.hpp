// What fuzz_model and fuzz_onnx do with a model once it loads: plan it at batch 2 and run
// one inference or training step on small inputs, under limits that keep every plan and
// step cheap (what the fuzzer looks for is the path a size takes through the code, not a
// large size).
#pragma once

#include <cstdint>

#include "core/limits.hpp"
#include "engine/executor.hpp"
#include "engine/optimizer.hpp"
#include "kernels/parallel.hpp"
#include "planner/plan.hpp"

namespace plangrad::fuzzing {

// For LLVMFuzzerInitialize.
inline void small_limits() {
  Limits l = limits();
  l.tensor_elements = 4096;
  l.arena_bytes = std::uint64_t{64} << 20;
  l.nodes = 256;
  set_limits(l);
  set_op_threads(1);
}

// Every input gets 0, 1, 0, 1, ...: valid class indices and binary targets, so that a step
// gets past the losses' label checks and runs the backward too.
inline void feed(Executor<float>& ex) {
  for (const ValueDecl& v : ex.model().graph.values) {
    if (v.kind != ValueKind::Input) continue;
    const TensorRef<float> in = ex.input(v.name);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i % 2);
  }
}

// One step of a plan of `kind` at batch 2 (SGD for a training plan). Throws what planning
// and the step throw.
inline void run_once(Model& model, PlanKind kind) {
  PlanRequest request;
  request.kind = kind;
  request.batch = 2;
  const Plan plan = make_plan(model.graph, request);
  if (kind == PlanKind::Training) {
    SGD<float> sgd(model, SgdOptions{0.01, 0.9, 0.0});
    Executor<float> ex(model, plan, &sgd);
    feed(ex);
    ex.run();
  } else {
    Executor<float> ex(model, plan);
    feed(ex);
    ex.run();
  }
}

}  // namespace plangrad::fuzzing
