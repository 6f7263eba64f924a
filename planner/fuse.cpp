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
//
// Before both: a batchnorm, the relu after it and a 2x2 stride-2 max-pool after that, as
// one step (OpDef::then_relu_pool kernels, ops/batchnorm.cpp), the CNN's block after each
// convolution in training. Batchnorm's output and relu's are computed a plane at a time
// into a buffer and pooled from there; the backward computes them again from x, routes the
// pooled gradient into batchnorm's dy as batchnorm's backward sums it, then reads that
// channel of dy back for dx while it is in the cache. y and relu's output and gradient
// never go to memory: after the statistics, the three steps pass over tensors of x's size
// ten times (forward: read x, write y, read y; backward: read y, write dy, read dy and x,
// read dy and x, write dx), the fused step six times (read x; read x, write dy, read dy
// and x, write dx). In inference plans (forward steps only) a convolution takes the
// batchnorm's place (OpDef::then_relu_pool of conv2d, ops/conv2d.cpp: each image's
// output goes to a buffer in the step's workspace and is pooled from there while it is in
// the cache), after fold_batchnorm has folded the batchnorm into it.
#include "ops/activations.hpp"
#include "ops/batchnorm.hpp"
#include "ops/conv2d.hpp"
#include "ops/pool.hpp"
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

// Per node: the index of its Backward step, or -1.
std::vector<int> backward_steps(const IndexedGraph& g, const std::vector<Step>& steps) {
  std::vector<int> at(g.nodes.size(), -1);
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (steps[i].kind == StepKind::Backward) at[static_cast<std::size_t>(steps[i].node)] = static_cast<int>(i);
  return at;
}

// The steps but those merged into others, in order.
void drop_merged(std::vector<Step>& steps, const std::vector<bool>& merged_away) {
  std::size_t out = 0;
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (!merged_away[i]) {
      if (out != i) steps[out] = std::move(steps[i]);
      ++out;
    }
  steps.resize(out);
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
  const std::vector<int> backward_at = backward_steps(g, steps);
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
  drop_merged(steps, merged_away);
}

void fuse_relu_pool_after(const IndexedGraph& g, Schedule& s, const Uses& u) {
  const OpDef& batchnorm = batchnorm_op();
  const OpDef& relu = relu_op();
  const OpDef& pool = max_pool2d_op();
  auto op_of = [&](const Step& st) { return g.nodes[static_cast<std::size_t>(st.node)].op; };
  auto plain = [](const Step& st, StepKind kind) { return st.kind == kind && st.fused < 0; };
  auto external = [&](int t) { return t >= 0 && s.tensors[static_cast<std::size_t>(t)].external(); };
  auto shape_of = [&](int t) -> const Shape& { return s.tensors[static_cast<std::size_t>(t)].shape; };
  // Forward steps a, b, c: an op with then_relu_pool kernels, relu, max_pool2d 2x2 stride 2
  // without padding, each reading the one before's output alone. A batchnorm: gamma and
  // beta parameters (the fused backward reads beta, which batchnorm's own backward does not
  // keep alive) and planes that fit its kernels' stack buffers.
  auto fusable = [&](const Step& a, const Step& b, const Step& c) {
    // Forward steps first: Fill and Update steps have no node.
    if (!plain(a, StepKind::Forward) || !plain(b, StepKind::Forward) || !plain(c, StepKind::Forward)) return false;
    const OpDef& op = *op_of(a);
    if (b.workspace >= 0 || c.workspace >= 0 || b.saved >= 0 || c.saved >= 0 || op_of(b) != &relu ||
        op_of(c) != &pool || !op.then_relu_pool.f32.forward || !op.then_relu_pool.f64.forward)
      return false;
    if (!u.private_link(g, s, a.node, b.node) || !u.private_link(g, s, b.node, c.node)) return false;
    if (&op == &batchnorm &&
        (a.workspace >= 0 || a.in.size() != 5 || !external(a.in[1]) || !external(a.in[2]) ||
         !fuses_relu_pool(shape_of(a.in[0]))))
      return false;
    const Shape& y = shape_of(a.out.at(0));
    if (y.size() != 4) return false;
    const Window2d w = pool_window(y, g.nodes[static_cast<std::size_t>(c.node)].attrs);
    return w.kh == 2 && w.kw == 2 && w.sh == 2 && w.sw == 2 && w.ph == 0 && w.pw == 0;
  };
  std::vector<Step>& steps = s.steps;
  const std::vector<int> backward_at = backward_steps(g, steps);
  std::vector<bool> merged_away(steps.size(), false);
  for (std::size_t i = 0; i + 2 < steps.size(); ++i) {
    Step& a = steps[i];
    Step& b = steps[i + 1];
    Step& c = steps[i + 2];
    if (merged_away[i] || !fusable(a, b, c)) continue;
    // The backward steps: none of the three, or all three in a row (the max-pool's, relu's,
    // batchnorm's), plain.
    const int pb = backward_at[static_cast<std::size_t>(c.node)], rb = backward_at[static_cast<std::size_t>(b.node)],
              nb = backward_at[static_cast<std::size_t>(a.node)];
    const bool none = pb < 0 && rb < 0 && nb < 0;
    const OpDef& op = *op_of(a);
    if (!none) {
      if (!op.then_relu_pool.f32.backward || !op.then_relu_pool.f64.backward) continue;
      if (pb < 0 || rb != pb + 1 || nb != pb + 2) continue;
      const Step& sp = steps[static_cast<std::size_t>(pb)];
      const Step& sr = steps[static_cast<std::size_t>(rb)];
      const Step& sn = steps[static_cast<std::size_t>(nb)];
      if (!plain(sp, StepKind::Backward) || !plain(sr, StepKind::Backward) || !plain(sn, StepKind::Backward) ||
          sp.workspace >= 0 || sr.workspace >= 0 || sn.workspace >= 0 || sp.saved >= 0 || sr.saved >= 0)
        continue;
    }
    // Forward: the op's step, writing the max-pool's output, with the fused kernel's
    // workspace (in the op's own workspace tensor, resized, when it has one).
    if (op.then_relu_pool.workspace) {
      const NodeInfo& node = g.nodes[static_cast<std::size_t>(a.node)];
      if (a.workspace < 0) {
        a.workspace = add_scratch(s, op.then_relu_pool.workspace, node, a.in, TensorRole::Workspace, "ws:", ":fwd");
      } else {
        std::vector<Shape> in_shapes;
        for (int t : a.in) in_shapes.push_back(shape_of(t));
        const std::size_t n = op.then_relu_pool.workspace(in_shapes, node.attrs);
        TensorInfo& ws = s.tensors[static_cast<std::size_t>(a.workspace)];
        ws.shape = {static_cast<Dim>(n)};
        check_tensor_size(ws.shape, op.name + " '" + node.name + "' scratch '" + ws.name + "'");
      }
    }
    a.fused = c.node;
    a.out = c.out;
    merged_away[i + 1] = merged_away[i + 2] = true;
    if (!none) {
      // Backward: batchnorm's, reading the max-pool's output gradient; at the max-pool's place.
      Step& sp = steps[static_cast<std::size_t>(pb)];
      Step& sn = steps[static_cast<std::size_t>(nb)];
      // batchnorm's output gradient, which the fused backward routes the pooled gradient
      // into and reads back, becomes the step's workspace: it lives for this step alone.
      sn.fused = c.node;
      sn.workspace = sn.d_out.at(0);
      sn.out = sp.out;
      sn.d_out = sp.d_out;
      sp = std::move(sn);
      merged_away[static_cast<std::size_t>(rb)] = merged_away[static_cast<std::size_t>(nb)] = true;
    }
  }
  drop_merged(steps, merged_away);
}

}  // namespace

Schedule fuse(const IndexedGraph& g, Schedule s) {
  const Uses u(g, s);
  fuse_relu_pool_after(g, s, u);
  fuse_bias_activation(g, s, u);
  fuse_relu_pool(g, s, u);
  return s;
}

}  // namespace plangrad
