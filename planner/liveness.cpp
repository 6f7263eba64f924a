// liveness: per tensor, the first and last step that touches it.
#include <algorithm>
#include <climits>

#include "planner/memory.hpp"

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
        for (int t : step.in) touch(t, at);
        for (int t : step.out) touch(t, at);
        break;
      case StepKind::Backward: {
        // Only what the backward rule reads keeps a forward tensor alive.
        const OpDef& reads_in = in_op(g, step);  // a fused step's inputs are add_bias's
        const OpDef& reads_out = *g.nodes[static_cast<std::size_t>(step.node)].op;
        for (std::size_t k = 0; k < step.in.size(); ++k)
          if (reads_in.backward_reads_in_at(k)) touch(step.in[k], at);
        for (std::size_t k = 0; k < step.out.size(); ++k)
          if (reads_out.backward_reads_out[k]) touch(step.out[k], at);
        for (int t : step.d_out) touch(t, at);
        for (int t : step.d_in) touch(t, at);
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
  for (int t : s.keep) touch(t, end);
  for (std::size_t t = 0; t < s.tensors.size(); ++t) {
    const TensorInfo& info = s.tensors[t];
    // TFLite's arena keeps inputs too: a caller may run a plan again without writing its
    // inputs again (a gradient check, a re-evaluation after a training step), and
    // Executor::value() reads inputs back.
    if (info.role == TensorRole::Input) live[t] = {0, end};
    else if (info.external() || live[t].last < 0) live[t] = {-1, -1};
  }
  return live;
}

}  // namespace plangrad
