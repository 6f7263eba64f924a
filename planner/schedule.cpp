// The schedule's names and the helpers shared by the passes that build it.
#include <algorithm>
#include <limits>
#include <utility>

#include "ops/activations.hpp"
#include "ops/pool.hpp"
#include "planner/schedule.hpp"

namespace plangrad {

const char* role_name(TensorRole role) {
  switch (role) {
    case TensorRole::Input: return "input";
    case TensorRole::Parameter: return "parameter";
    case TensorRole::State: return "state";
    case TensorRole::Activation: return "activation";
    case TensorRole::Gradient: return "gradient";
    case TensorRole::Workspace: return "workspace";
    case TensorRole::Saved: return "saved";
  }
  return "?";
}

const char* step_kind_name(StepKind kind) {
  switch (kind) {
    case StepKind::Forward: return "forward";
    case StepKind::Backward: return "backward";
    case StepKind::Fill: return "fill";
    case StepKind::Update: return "update";
  }
  return "?";
}

int Schedule::add_tensor(TensorInfo tensor) {
  tensors.push_back(std::move(tensor));
  return static_cast<int>(tensors.size()) - 1;
}

void Schedule::add_keep(int tensor) {
  if (std::find(keep.begin(), keep.end(), tensor) == keep.end()) keep.push_back(tensor);
}

int add_scratch(Schedule& s, SizeFn size, const NodeInfo& node, const std::vector<int>& in, TensorRole role,
                const char* prefix, const char* suffix) {
  if (!size) return -1;
  std::vector<Shape> in_shapes;
  for (int t : in) in_shapes.push_back(s.tensors[static_cast<std::size_t>(t)].shape);
  const std::size_t n = size(in_shapes, node.attrs);
  if (n == 0) return -1;
  const std::string name = prefix + node.name + suffix;
  if (n > static_cast<std::size_t>(std::numeric_limits<Dim>::max()))
    throw ShapeError(node.op->name + " '" + node.name + "': scratch '" + name + "' of " + std::to_string(n) +
                     " elements does not fit a shape");
  const Shape shape{static_cast<Dim>(n)};
  check_tensor_size(shape, node.op->name + " '" + node.name + "' scratch '" + name + "'");
  return s.add_tensor({name, shape, -1, role});
}

bool relu_fused(const IndexedGraph& g, const Step& step) {
  return step.fused >= 0 && g.nodes[static_cast<std::size_t>(step.fused)].op == &relu_op();
}

bool relu_pool_fused(const IndexedGraph& g, const Step& step) {
  return step.fused >= 0 && g.nodes[static_cast<std::size_t>(step.fused)].op == &max_pool2d_op();
}

const OpDef& in_op(const IndexedGraph& g, const Step& step) {
  const int n = step.fused >= 0 && !relu_fused(g, step) && !relu_pool_fused(g, step) ? step.fused : step.node;
  return *g.nodes[static_cast<std::size_t>(n)].op;
}

}  // namespace plangrad
