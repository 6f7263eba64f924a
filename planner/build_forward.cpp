// build_forward: a Forward step per node and the tensors the steps touch.
#include "planner/schedule.hpp"

namespace plangrad {
namespace {

TensorRole role_of(ValueRole role) {
  switch (role) {
    case ValueRole::Input: return TensorRole::Input;
    case ValueRole::Parameter: return TensorRole::Parameter;
    case ValueRole::State: return TensorRole::State;
    case ValueRole::Intermediate: return TensorRole::Activation;
  }
  return TensorRole::Activation;
}

}  // namespace

Schedule build_forward(const IndexedGraph& g, const std::vector<int>& order,
                       const std::vector<Shape>& shapes, Mode mode, const std::vector<int>& keep) {
  Schedule s;
  s.mode = mode;
  s.value_tensor.assign(g.values.size(), -1);
  s.grad_tensor.assign(g.values.size(), -1);
  // A value's tensor is made where a step first touches it: tensors are numbered in the
  // order of the steps.
  auto tensor_of = [&](int v) {
    int& t = s.value_tensor[static_cast<std::size_t>(v)];
    if (t < 0) {
      const ValueInfo& info = g.values[static_cast<std::size_t>(v)];
      t = s.add_tensor({info.name, shapes[static_cast<std::size_t>(v)], v, role_of(info.role)});
    }
    return t;
  };
  for (int n : order) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    Step step;
    step.kind = StepKind::Forward;
    step.node = n;
    for (int v : node.inputs) step.in.push_back(tensor_of(v));
    for (int v : node.outputs) step.out.push_back(tensor_of(v));
    step.workspace = add_scratch(s, node.op->workspace, node, step.in, TensorRole::Workspace, "ws:", ":fwd");
    step.saved = add_scratch(s, node.op->saved, node, step.in, TensorRole::Saved, "saved:", "");
    s.steps.push_back(std::move(step));
  }
  for (int v : keep) s.add_keep(tensor_of(v));
  return s;
}

}  // namespace plangrad
