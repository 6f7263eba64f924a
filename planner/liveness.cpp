// liveness and assign_slots: when each tensor is live, and which tensors share memory.
#include <algorithm>
#include <climits>

#include "planner/passes.hpp"

namespace plangrad {

std::vector<Interval> liveness(const IndexedGraph& g, const Schedule& s) {
  std::vector<Interval> live(s.tensors.size(), Interval{INT_MAX, -1});
  auto touch = [&](int t, int step) {
    if (t < 0) return;
    Interval& iv = live[static_cast<std::size_t>(t)];
    iv.first = std::min(iv.first, step);
    iv.last = std::max(iv.last, step);
  };
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    const Step& step = s.steps[i];
    const int at = static_cast<int>(i);
    switch (step.kind) {
      case StepKind::Forward:
        for (int t : s.list(step.in)) touch(t, at);
        for (int t : s.list(step.out)) touch(t, at);
        break;
      case StepKind::Backward: {
        // Only what the backward rule reads keeps a forward tensor alive.
        const OpDef& op = *g.nodes[static_cast<std::size_t>(step.node)].op;
        const OpDef& reads_in = in_op(g, step);  // a fused step's inputs are add_bias's
        const Span<const int> in = s.list(step.in), out = s.list(step.out);
        for (std::size_t k = 0; k < in.size(); ++k)
          if (reads_in.backward_reads_in[k]) touch(in[k], at);
        for (std::size_t k = 0; k < out.size(); ++k)
          if (op.backward_reads_out[k]) touch(out[k], at);
        for (int t : s.list(step.d_out)) touch(t, at);
        for (int t : s.list(step.d_in)) touch(t, at);
        break;
      }
      case StepKind::Fill: touch(step.target, at); break;
      case StepKind::Update:
        touch(step.target, at);
        touch(step.grad, at);
        break;
    }
    touch(step.workspace, at);
    touch(step.saved, at);
  }
  const int end = s.steps.empty() ? 0 : static_cast<int>(s.steps.size()) - 1;
  for (int t : s.keep) {
    touch(t, end);
  }
  // One walk over the tensors (at 100k nodes they are tens of MB):
  //  - Inputs live for the whole plan (TFLite's arena does the same): a caller may run a
  //    plan again without writing its inputs again (a gradient check, a re-evaluation
  //    after a training step), and Executor::value() reads inputs back.
  //  - External tensors, and tensors no step touches (a fused step's z and its gradient),
  //    get no interval and so no memory.
  for (std::size_t t = 0; t < s.tensors.size(); ++t) {
    const TensorInfo& info = s.tensors[t];
    if (info.role == TensorRole::Input) live[t] = {0, end};
    else if (info.external() || live[t].last < 0) live[t] = {-1, -1};
  }
  return live;
}

namespace {

std::size_t slot_bytes(const TensorInfo& t, std::size_t elem_bytes) {
  const std::size_t bytes = numel(t.shape) * elem_bytes;
  return (bytes + 63) / 64 * 64;
}

int count(Span<const int> v, int x) { return static_cast<int>(std::count(v.begin(), v.end(), x)); }

}  // namespace

Slots assign_slots(const IndexedGraph& g, const Schedule& s, const std::vector<Interval>& live,
                   std::size_t elem_bytes, bool reuse) {
  Slots slots;
  slots.tensor_slot.assign(s.tensors.size(), -1);
  slots.bytes.reserve(s.tensors.size());
  slots.live.reserve(s.tensors.size());
  for (std::size_t t = 0; t < s.tensors.size(); ++t) {
    const TensorInfo& info = s.tensors[t];
    if (info.external()) continue;
    const std::size_t bytes = slot_bytes(info, elem_bytes);
    ++slots.tensors;
    slots.tensor_bytes += bytes;
    if (live[t].last < 0) continue;  // touched by no step
    slots.tensor_slot[t] = static_cast<int>(slots.bytes.size());
    slots.bytes.push_back(bytes);
    slots.live.push_back(live[t]);
  }
  if (!reuse) return slots;
  std::vector<int> members(slots.bytes.size(), 1);

  // Moves tensor `joiner` into the slot of tensor `host` when the host's slot ends at
  // `step` and the joiner's starts there: their lifetimes then touch at a single step,
  // in which the kernel reads the host and writes the joiner element by element.
  auto join = [&](int host, int joiner, int step) {
    const int hs = slots.tensor_slot[static_cast<std::size_t>(host)];
    const int js = slots.tensor_slot[static_cast<std::size_t>(joiner)];
    if (hs < 0 || js < 0 || hs == js) return;
    Interval& h = slots.live[static_cast<std::size_t>(hs)];
    const Interval& j = slots.live[static_cast<std::size_t>(js)];
    if (h.last != step || j.first != step) return;
    if (slots.bytes[static_cast<std::size_t>(hs)] != slots.bytes[static_cast<std::size_t>(js)]) return;
    // The joiner's slot must hold only the joiner (slots are joined one tensor at a time).
    if (members[static_cast<std::size_t>(js)] != 1) return;
    slots.tensor_slot[static_cast<std::size_t>(joiner)] = hs;
    members[static_cast<std::size_t>(hs)]++;
    members[static_cast<std::size_t>(js)] = 0;
    h.last = j.last;
    slots.bytes[static_cast<std::size_t>(js)] = 0;  // the emptied slot
    slots.live[static_cast<std::size_t>(js)] = {0, 0};
  };

  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    const Step& step = s.steps[i];
    if (step.node < 0) continue;
    // A fused step is element-wise when both of its ops are.
    const OpDef& op = *g.nodes[static_cast<std::size_t>(step.node)].op;
    const OpDef& first = in_op(g, step);
    const bool inplace = op.inplace && first.inplace;
    const bool backward_inplace = op.backward_inplace && first.backward_inplace;
    const int at = static_cast<int>(i);
    if (step.kind == StepKind::Forward && inplace) {
      const Span<const int> in = s.list(step.in);
      const int x = in[0], y = s.list(step.out)[0];
      if (s.tensors[static_cast<std::size_t>(x)].role == TensorRole::Activation && count(in, x) == 1)
        join(x, y, at);
    }
    if (step.kind == StepKind::Backward && backward_inplace && step.d_in.size > 0 &&
        step.d_out.size > 0) {
      const Span<const int> d_in = s.list(step.d_in);
      const int dx = d_in[0], dy = s.list(step.d_out)[0];
      if (dx >= 0 && dy >= 0 && !s.accumulates(step)[0] && count(d_in, dx) == 1) join(dy, dx, at);
    }
  }
  return slots;
}

}  // namespace plangrad
