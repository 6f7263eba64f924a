// fuse: an add_bias and the activation that reads its output, as one step.
//
// Run as two steps, add_bias writes z = x + b to memory and the activation reads it back;
// fused, z lives in a local array for a row chunk at a time (OpDef::after_bias kernels,
// ops/activations.cpp): one pass over memory instead of two each way, and no buffer for z
// or its gradient. The pass runs before liveness, so every later pass sees the fused
// steps: x lives until the fused step, and y may take x's memory in place.
//
// Then a relu and the max_pool2d that reads its output y, as one step (OpDef::after_relu
// kernels, ops/pool.cpp): max-pool commutes with the monotone relu, so the fused step
// pools relu's input z, relu applied to each cell as it is compared, and routes the
// gradient straight into dz. y and its gradient get no memory, and relu's passes over
// them (forward and backward) disappear; z lives until the fused backward step.
#include "ops/activations.hpp"
#include "planner/schedule.hpp"

namespace plangrad {
namespace {

// What both fusions ask of the value between the two nodes.
struct Uses {
  std::vector<int> uses;   // per value: its uses by any node of the graph
  std::vector<bool> kept;  // per tensor: the caller reads it after a run

  Uses(const IndexedGraph& g, const Schedule& s) : uses(g.values.size(), 0), kept(s.tensors.size(), false) {
    for (const NodeInfo& node : g.nodes)
      for (int v : node.inputs) ++uses[static_cast<std::size_t>(v)];
    for (int t : s.keep) kept[static_cast<std::size_t>(t)] = true;
  }
  bool kept_tensor(int t) const { return t >= 0 && kept[static_cast<std::size_t>(t)]; }
  // Node c's only input is node p's output v, which nothing else reads: no other use, and
  // neither v nor its gradient kept.
  bool private_link(const IndexedGraph& g, const Schedule& s, int p, int c) const {
    const NodeInfo& producer = g.nodes[static_cast<std::size_t>(p)];
    const NodeInfo& consumer = g.nodes[static_cast<std::size_t>(c)];
    if (consumer.inputs.size() != 1 || consumer.outputs.size() != 1 || producer.outputs.size() != 1) return false;
    const int v = producer.outputs[0];
    if (consumer.inputs[0] != v || uses[static_cast<std::size_t>(v)] != 1) return false;
    return !kept_tensor(s.value_tensor[static_cast<std::size_t>(v)]) &&
           !kept_tensor(s.grad_tensor[static_cast<std::size_t>(v)]);
  }
};

bool mergeable(const Step& a, const Step& b, StepKind kind) {
  return a.kind == kind && b.kind == kind && a.fused < 0 && b.fused < 0 && a.workspace < 0 && a.saved < 0 &&
         b.workspace < 0 && b.saved < 0;
}

template <class T>
bool complete(const Kernels<T>& k) {
  return k.forward && k.backward;
}

void fuse_bias_activation(const IndexedGraph& g, Schedule& s, const Uses& u) {

  // Node p (an add_bias) and node c run as one step when c's only input is p's output z,
  // c has fused kernels, nothing else reads z (no other use, c's backward does not read
  // it, the caller does not keep it) and nothing else reads z's gradient.
  auto fusable = [&](int p, int c) {
    const OpDef& consumer = *g.nodes[static_cast<std::size_t>(c)].op;
    if (!g.nodes[static_cast<std::size_t>(p)].op->bias_add || !complete(consumer.after_bias.f32) ||
        !complete(consumer.after_bias.f64))
      return false;
    return u.private_link(g, s, p, c) && !consumer.backward_reads_in[0];
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
}

void fuse_relu_pool(const IndexedGraph& g, Schedule& s, const Uses& u) {
  const OpDef& relu = relu_op();
  auto fusable = [&](int p, int c) {
    const OpDef& consumer = *g.nodes[static_cast<std::size_t>(c)].op;
    return g.nodes[static_cast<std::size_t>(p)].op == &relu && complete(consumer.after_relu.f32) &&
           complete(consumer.after_relu.f64) && u.private_link(g, s, p, c);
  };
  std::vector<Step>& steps = s.steps;
  std::vector<int> backward_at(g.nodes.size(), -1);  // per node: its Backward step
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (steps[i].kind == StepKind::Backward) backward_at[static_cast<std::size_t>(steps[i].node)] = static_cast<int>(i);
  std::vector<bool> merged_away(steps.size(), false);
  for (std::size_t i = 0; i + 1 < steps.size(); ++i) {
    Step& a = steps[i];
    Step& b = steps[i + 1];
    if (!mergeable(a, b, StepKind::Forward) || !fusable(a.node, b.node)) continue;
    // The consumer's backward step (if any) right before relu's, both plain.
    const int cb = backward_at[static_cast<std::size_t>(b.node)], rb = backward_at[static_cast<std::size_t>(a.node)];
    if ((cb < 0) != (rb < 0)) continue;
    if (cb >= 0 && (rb != cb + 1 || !mergeable(steps[static_cast<std::size_t>(cb)], steps[static_cast<std::size_t>(rb)],
                                                StepKind::Backward)))
      continue;
    // Forward: the step is the consumer's, reading relu's input.
    b.fused = a.node;
    b.in = a.in;
    merged_away[i] = true;
    if (cb >= 0) {
      // Backward: the consumer's, reading relu's input and writing its gradient with relu's
      // accumulate flag.
      Step& c = steps[static_cast<std::size_t>(cb)];
      Step& r = steps[static_cast<std::size_t>(rb)];
      c.fused = a.node;
      c.in = std::move(r.in);
      c.d_in = std::move(r.d_in);
      c.accumulate = std::move(r.accumulate);
      merged_away[static_cast<std::size_t>(rb)] = true;
    }
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (!merged_away[i]) {
      if (out != i) steps[out] = std::move(steps[i]);
      ++out;
    }
  steps.resize(out);
}

}  // namespace

Schedule fuse(const IndexedGraph& g, Schedule s) {
  const Uses u(g, s);
  fuse_bias_activation(g, s, u);
  fuse_relu_pool(g, s, u);
  return s;
}

}  // namespace plangrad
