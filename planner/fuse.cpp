// fuse: an add_bias and the activation that reads its output, as one step.
//
// Run as two steps, add_bias writes z = x + b to memory and the activation reads it back;
// fused, z lives in a local array for a row chunk at a time (OpDef::after_bias kernels,
// ops/activations.cpp): one pass over memory instead of two each way, and no buffer for z
// or its gradient. The pass runs before liveness, so every later pass sees the fused
// steps: x lives until the fused step, and y may take x's memory in place.
#include "planner/passes.hpp"

namespace plangrad {

const OpDef& in_op(const IndexedGraph& g, const Step& step) {
  const int n = step.fused >= 0 ? step.fused : step.node;
  return *g.nodes[static_cast<std::size_t>(n)].op;
}

Schedule fuse(const IndexedGraph& g, Schedule s) {
  std::vector<char> kept(s.tensors.size(), 0);
  for (int t : s.keep) kept[static_cast<std::size_t>(t)] = 1;
  auto kept_tensor = [&](int t) { return t >= 0 && kept[static_cast<std::size_t>(t)]; };

  // Node p (an add_bias) and node c run as one step when c's only input is p's output z,
  // c has fused kernels, nothing else reads z (no other consumer, c's backward does not
  // read it, the caller does not keep it) and nothing else reads z's gradient.
  auto fusable = [&](int p, int c) {
    const NodeInfo& producer = g.nodes[static_cast<std::size_t>(p)];
    const NodeInfo& consumer = g.nodes[static_cast<std::size_t>(c)];
    const Kernels<float>& k32 = consumer.op->after_bias.f32;
    const Kernels<double>& k64 = consumer.op->after_bias.f64;
    if (!producer.op->bias_add || !k32.forward || !k64.forward || !k32.backward || !k64.backward)
      return false;
    if (consumer.inputs.size != 1 || consumer.outputs.size != 1) return false;
    const int z = g.list(producer.outputs)[0];
    if (g.list(consumer.inputs)[0] != z || g.consumers(z).size() != 1) return false;
    if (consumer.op->backward_reads_in[0]) return false;
    return !kept_tensor(s.value_tensor[static_cast<std::size_t>(z)]) &&
           !kept_tensor(s.grad_tensor[static_cast<std::size_t>(z)]);
  };
  auto no_scratch = [](const Step& a, const Step& b) {
    return a.workspace < 0 && a.saved < 0 && b.workspace < 0 && b.saved < 0;
  };

  // Merged in place: the write position never passes the read position.
  std::vector<Step>& steps = s.steps;
  std::size_t out = 0;
  for (std::size_t i = 0; i < steps.size(); ++i, ++out) {
    const Step a = steps[i];
    steps[out] = a;
    if (i + 1 == steps.size()) continue;
    const Step& b = steps[i + 1];
    // Forward: add_bias (a), then the activation (b). The step is b's, reading a's inputs.
    if (a.kind == StepKind::Forward && b.kind == StepKind::Forward && a.fused < 0 && b.fused < 0 &&
        no_scratch(a, b) && fusable(a.node, b.node)) {
      steps[out] = b;
      steps[out].fused = a.node;
      steps[out].in = a.in;
      ++i;
      continue;
    }
    // Backward: the activation (a) writes dz, add_bias (b) reads it. The step is a's,
    // writing b's input gradients with b's accumulate flags (they sit beside b.d_in).
    if (a.kind == StepKind::Backward && b.kind == StepKind::Backward && a.fused < 0 && b.fused < 0 &&
        no_scratch(a, b) && fusable(b.node, a.node)) {
      steps[out].fused = b.node;
      steps[out].in = b.in;
      steps[out].d_in = b.d_in;
      ++i;
    }
  }
  steps.resize(out);
  return s;
}

}  // namespace plangrad
