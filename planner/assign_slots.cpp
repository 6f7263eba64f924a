// assign_slots: which tensors share memory (in-place reuse).
#include "core/checked.hpp"
#include <algorithm>

#include "planner/memory.hpp"

namespace plangrad {

std::size_t padded_bytes(const TensorInfo& t, std::size_t elem_bytes) {
  return add_sizes(mul_sizes(numel(t.shape), elem_bytes), 63) / 64 * 64;
}

Slots assign_slots(const IndexedGraph& g, const Schedule& s, const std::vector<Interval>& live,
                   std::size_t elem_bytes, bool reuse) {
  Slots slots;
  slots.tensor_slot.assign(s.tensors.size(), -1);
  for (std::size_t t = 0; t < s.tensors.size(); ++t) {
    if (live[t].last < 0) continue;  // external, or touched by no step
    slots.tensor_slot[t] = static_cast<int>(slots.bytes.size());
    slots.bytes.push_back(padded_bytes(s.tensors[t], elem_bytes));
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
  auto once = [](const std::vector<int>& ids, int id) { return std::count(ids.begin(), ids.end(), id) == 1; };

  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    const Step& step = s.steps[i];
    // A batchnorm + relu + max-pool step's output and input gradient are other shapes than
    // its input and output gradient: never in place.
    if (step.node < 0 || relu_pool_fused(g, step)) continue;
    // A fused step is element-wise when both of its ops are.
    const OpDef& op = *g.nodes[static_cast<std::size_t>(step.node)].op;
    const OpDef& first = in_op(g, step);
    const int at = static_cast<int>(i);
    if (step.kind == StepKind::Forward && op.inplace && first.inplace) {
      const int x = step.in[0], y = step.out[0];
      if (s.tensors[static_cast<std::size_t>(x)].role == TensorRole::Activation && once(step.in, x)) join(x, y, at);
    }
    if (step.kind == StepKind::Backward && op.backward_inplace && first.backward_inplace &&
        !step.d_in.empty() && !step.d_out.empty()) {
      const int dx = step.d_in[0], dy = step.d_out[0];
      if (dx >= 0 && dy >= 0 && !step.accumulate[0] && once(step.d_in, dx)) join(dy, dx, at);
    }
  }
  return slots;
}

}  // namespace plangrad
