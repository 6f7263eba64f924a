// libFuzzer target: a model file from anyone, through everything a user does with it. On
// arbitrary bytes, loading either gives a model or throws a plangrad::Error; a model that
// loads writes back to the same text, and is planned and run one inference step and one
// training step on small inputs. Anything else (a crash, a sanitizer report, another
// exception such as std::bad_alloc) is a bug. Build and run with scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/errors.hpp"
#include "core/limits.hpp"
#include "engine/executor.hpp"
#include "engine/optimizer.hpp"
#include "kernels/parallel.hpp"
#include "planner/plan.hpp"
#include "serialization/model_json.hpp"

namespace {

using namespace plangrad;

// Every input gets 0, 1, 0, 1, ...: valid class indices and binary targets, so that a step
// gets past the losses' label checks and runs the backward too.
void feed(Executor<float>& ex) {
  for (const ValueDecl& v : ex.model().graph.values) {
    if (v.kind != ValueKind::Input) continue;
    const TensorRef<float> in = ex.input(v.name);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i % 2);
  }
}

void run_once(Model& model, PlanKind kind) {
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

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Small limits keep every plan and step cheap: what the fuzzer looks for is the path a
  // size takes through the code, not a large size.
  Limits l = limits();
  l.tensor_elements = 4096;
  l.arena_bytes = std::uint64_t{64} << 20;
  l.nodes = 256;
  set_limits(l);
  set_op_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Model model;
  try {
    model = model_from_json(text, "fuzz");
  } catch (const Error&) {
    return 0;
  }
  // A document that loads must write back and load again to the same text.
  const std::string once = model_to_json(model);
  const std::string twice = model_to_json(model_from_json(once, "fuzz-again"));
  if (once != twice) __builtin_trap();
  for (PlanKind kind : {PlanKind::Inference, PlanKind::Training}) {
    try {
      run_once(model, kind);
    } catch (const Error&) {
    }
  }
  return 0;
}
