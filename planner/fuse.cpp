// fuse: an add_bias and the activation that reads its output, as one step.
//
// Run as two steps, add_bias writes z = x + b to memory and the activation reads it back;
// fused, z lives in a local array for a row chunk at a time (OpDef::after_bias kernels,
// ops/activations.cpp): one pass over memory instead of two each way, and no buffer for z
// or its gradient. The pass runs before liveness, so every later pass sees the fused
// steps: x lives until the fused step, and y may take x's memory in place.
#include "planner/schedule.hpp"

namespace plangrad {

Schedule fuse(const IndexedGraph& g, Schedule s) {
  // Uses of each value by any node of the graph, and the tensors the caller keeps.
  std::vector<int> uses(g.values.size(), 0);
  for (const NodeInfo& node : g.nodes)
    for (int v : node.inputs) ++uses[static_cast<std::size_t>(v)];
  std::vector<bool> kept(s.tensors.size(), false);
  for (int t : s.keep) kept[static_cast<std::size_t>(t)] = true;
  auto kept_tensor = [&](int t) { return t >= 0 && kept[static_cast<std::size_t>(t)]; };

  // Node p (an add_bias) and node c run as one step when c's only input is p's output z,
  // c has fused kernels, nothing else reads z (no other use, c's backward does not read
  // it, the caller does not keep it) and nothing else reads z's gradient.
  auto fusable = [&](int p, int c) {
    const NodeInfo& producer = g.nodes[static_cast<std::size_t>(p)];
    const NodeInfo& consumer = g.nodes[static_cast<std::size_t>(c)];
    const Kernels<float>& k32 = consumer.op->after_bias.f32;
    const Kernels<double>& k64 = consumer.op->after_bias.f64;
    if (!producer.op->bias_add || !k32.forward || !k64.forward || !k32.backward || !k64.backward)
      return false;
    if (consumer.inputs.size() != 1 || consumer.outputs.size() != 1) return false;
    const int z = producer.outputs[0];
    if (consumer.inputs[0] != z || uses[static_cast<std::size_t>(z)] != 1) return false;
    if (consumer.op->backward_reads_in[0]) return false;
    return !kept_tensor(s.value_tensor[static_cast<std::size_t>(z)]) &&
           !kept_tensor(s.grad_tensor[static_cast<std::size_t>(z)]);
  };
  auto mergeable = [&](const Step& a, const Step& b, StepKind kind) {
    return a.kind == kind && b.kind == kind && a.fused < 0 && b.fused < 0 && a.workspace < 0 &&
           a.saved < 0 && b.workspace < 0 && b.saved < 0;
  };

  // Merged in place: the write position `out` never passes the read position `i`.
  std::vector<Step>& steps = s.steps;
  std::size_t out = 0;
  for (std::size_t i = 0; i < steps.size(); ++i, ++out) {
    Step& a = steps[i];
    Step* b = i + 1 < steps.size() ? &steps[i + 1] : nullptr;
    std::size_t kept_step = i;
    if (b && mergeable(a, *b, StepKind::Forward) && fusable(a.node, b->node)) {
      // add_bias (a), then the activation (b): the step is b's, reading a's inputs.
      b->fused = a.node;
      b->in = std::move(a.in);
      kept_step = ++i;
    } else if (b && mergeable(a, *b, StepKind::Backward) && fusable(b->node, a.node)) {
      // The activation (a) writes dz, add_bias (b) reads it: the step is a's, writing b's
      // input gradients with b's accumulate flags.
      a.fused = b->node;
      a.in = std::move(b->in);
      a.d_in = std::move(b->d_in);
      a.accumulate = std::move(b->accumulate);
      ++i;
    }
    if (out != kept_step) steps[out] = std::move(steps[kept_step]);
  }
  steps.resize(out);
  return s;
}

}  // namespace plangrad
