// build_forward and build_backward: the steps of a plan and the tensors they touch.
#include <algorithm>
#include <utility>

#include "core/errors.hpp"
#include "planner/passes.hpp"

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

namespace {

int add_tensor(Schedule& s, TensorInfo t) {
  s.tensors.push_back(std::move(t));
  return static_cast<int>(s.tensors.size()) - 1;
}

TensorRole role_of(ValueRole role) {
  switch (role) {
    case ValueRole::Input: return TensorRole::Input;
    case ValueRole::Parameter: return TensorRole::Parameter;
    case ValueRole::State: return TensorRole::State;
    case ValueRole::Intermediate: return TensorRole::Activation;
  }
  return TensorRole::Activation;
}

// The value's tensor, made on first use; it takes the value's shape from `shapes`.
int value_tensor(const IndexedGraph& g, Schedule& s, std::vector<Shape>& shapes, int v) {
  int& t = s.value_tensor[static_cast<std::size_t>(v)];
  if (t < 0) {
    const ValueInfo& info = g.values[static_cast<std::size_t>(v)];
    t = add_tensor(s, {info.name, std::move(shapes[static_cast<std::size_t>(v)]), v, role_of(info.role)});
  }
  return t;
}

// A Workspace or Saved tensor for `node` when its op asks for one ("<prefix><node><suffix>").
int scratch(const IndexedGraph& g, Schedule& s, SizeFn size, const NodeInfo& node,
            const std::vector<Shape>& in_shapes, TensorRole role, const char* prefix, const char* suffix) {
  if (!size) return -1;
  const std::size_t n = size(in_shapes, g.attrs(node));
  if (n == 0) return -1;
  return add_tensor(s, {prefix + node.name + suffix, Shape{static_cast<Dim>(n)}, -1, role});
}

void add_keep(Schedule& s, int tensor) {
  if (std::find(s.keep.begin(), s.keep.end(), tensor) == s.keep.end()) s.keep.push_back(tensor);
}

}  // namespace

Schedule build_forward(const IndexedGraph& g, const std::vector<int>& order,
                       std::vector<Shape> shapes, Mode mode, const std::vector<int>& keep,
                       bool room_for_backward) {
  Schedule s;
  s.mode = mode;
  s.value_tensor.assign(g.values.size(), -1);
  s.grad_tensor.assign(g.values.size(), -1);
  // Sized once: at 100k nodes, growing these vectors step by step costs more than filling
  // them (every regrowth moves everything into fresh memory).
  std::size_t scratch_tensors = 0, ids = 0;
  for (int n : order) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    scratch_tensors += (node.op->workspace ? 1 : 0) + (node.op->saved ? 1 : 0);
    ids += node.inputs.size + node.outputs.size;
  }
  // With room for build_backward, which appends without moving what is here: at most a
  // gradient per value used, a workspace per scratch tensor here, a backward step per
  // node, the seed, an update per value used, and d_out and d_in lists as long as the in
  // and out lists.
  const std::size_t grads = room_for_backward ? std::min(g.values.size(), ids) + scratch_tensors : 0;
  s.steps.reserve(order.size() + (room_for_backward ? order.size() + 1 + ids : 0));
  s.tensors.reserve(g.values.size() + scratch_tensors + grads);
  s.ids.reserve(room_for_backward ? 2 * ids : ids);
  s.accumulate.reserve(room_for_backward ? 2 * ids : ids);
  for (int n : order) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    Step step;
    step.kind = StepKind::Forward;
    step.node = n;
    std::vector<Shape> in_shapes;  // only for ops that size scratch memory from them
    const bool sizes_scratch = node.op->workspace || node.op->saved;
    for (int v : g.list(node.inputs)) {
      const int t = value_tensor(g, s, shapes, v);
      s.push(step.in, t);
      if (sizes_scratch) in_shapes.push_back(s.tensors[static_cast<std::size_t>(t)].shape);
    }
    for (int v : g.list(node.outputs)) s.push(step.out, value_tensor(g, s, shapes, v));
    step.workspace = scratch(g, s, node.op->workspace, node, in_shapes, TensorRole::Workspace, "ws:", ":fwd");
    step.saved = scratch(g, s, node.op->saved, node, in_shapes, TensorRole::Saved, "saved:", "");
    s.steps.push_back(std::move(step));
  }
  for (int v : keep) add_keep(s, value_tensor(g, s, shapes, v));
  return s;
}

Schedule build_backward(const IndexedGraph& g, Schedule s, const BackwardRequest& request) {
  const std::size_t n_values = g.values.size();
  const int loss = request.loss;
  if (loss < 0 || s.value_tensor[static_cast<std::size_t>(loss)] < 0)
    throw GraphError("the loss is not computed by this plan");
  const TensorInfo& loss_info = s.tensors[static_cast<std::size_t>(s.value_tensor[static_cast<std::size_t>(loss)])];
  if (numel(loss_info.shape) != 1)
    throw ShapeError("the loss '" + loss_info.name + "' must be a scalar, got " + shape_str(loss_info.shape));

  // The forward order, and each node's forward step. Below, the passes over the nodes are
  // as few as the analysis allows: at 100k nodes each one reads megabytes.
  std::vector<int> order;
  order.reserve(s.steps.size());
  std::vector<int> forward_step_of(g.nodes.size(), -1);
  for (std::size_t i = 0; i < s.steps.size(); ++i)
    if (s.steps[i].kind == StepKind::Forward) {
      order.push_back(s.steps[i].node);
      forward_step_of[static_cast<std::size_t>(s.steps[i].node)] = static_cast<int>(i);
    }

  // The values' roles are read again and again below: from a byte per value rather than
  // from g.values (tens of MB at 100k nodes).
  std::vector<char> is_parameter(n_values, 0);
  for (std::size_t v = 0; v < n_values; ++v) is_parameter[v] = g.values[v].role == ValueRole::Parameter;
  // needs[v]: v depends (through differentiable inputs) on something that wants a gradient.
  // The same pass counts what the arrays below must hold (see build_forward): a workspace
  // per node whose op asks for one, d_out and d_in lists as long as the in and out lists.
  std::vector<char> needs(n_values, 0);
  if (request.parameters) needs = is_parameter;
  for (int v : request.inputs) needs[static_cast<std::size_t>(v)] = 1;
  std::size_t workspaces = 0, ids = 0;
  for (int n : order) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    workspaces += node.op->workspace ? 1 : 0;
    ids += node.inputs.size + node.outputs.size;
    bool any = false;
    for (std::size_t i = 0; i < node.inputs.size; ++i)
      any = any || (node.op->differentiable[i] && needs[static_cast<std::size_t>(g.list(node.inputs)[i])]);
    for (int out : g.list(node.outputs)) needs[static_cast<std::size_t>(out)] = any;
  }
  // reaches[v]: the loss depends on v through differentiable inputs.
  std::vector<char> reaches(n_values, 0);
  reaches[static_cast<std::size_t>(loss)] = 1;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(*it)];
    bool any = false;
    for (int out : g.list(node.outputs)) any = any || reaches[static_cast<std::size_t>(out)];
    if (!any) continue;
    for (std::size_t i = 0; i < node.inputs.size; ++i)
      if (node.op->differentiable[i]) reaches[static_cast<std::size_t>(g.list(node.inputs)[i])] = 1;
  }
  auto has_grad = [&](int v) { return needs[static_cast<std::size_t>(v)] && reaches[static_cast<std::size_t>(v)]; };
  if (!has_grad(loss))
    throw GraphError("the loss '" + g.values[static_cast<std::size_t>(loss)].name +
                     "' depends on nothing that wants a gradient");
  for (int v : request.inputs)
    if (!has_grad(v))
      throw GraphError("the loss does not depend on input '" + g.values[static_cast<std::size_t>(v)].name + "'");

  auto grad_tensor = [&](int v) {
    int& t = s.grad_tensor[static_cast<std::size_t>(v)];
    if (t < 0) {
      const TensorInfo& value = s.tensors[static_cast<std::size_t>(s.value_tensor[static_cast<std::size_t>(v)])];
      t = add_tensor(s, {"grad:" + value.name, value.shape, v, TensorRole::Gradient});
    }
    return t;
  };

  // Sized once (see build_forward): a gradient per value that has one; below, a step per
  // node at most, the seed and the updates. A backward step shares its forward step's in
  // and out lists and adds d_out and d_in.
  std::size_t grads = 0, updates = 0;
  for (std::size_t v = 0; v < n_values; ++v) {
    const bool grad = has_grad(static_cast<int>(v));
    grads += grad ? 1 : 0;
    updates += request.update && is_parameter[v] && grad ? 1 : 0;
  }
  s.tensors.reserve(s.tensors.size() + grads + workspaces);
  s.ids.reserve(s.ids.size() + ids);
  s.accumulate.reserve(s.accumulate.size() + ids);

  // A backward step per node whose outputs carry a gradient and whose inputs want one.
  auto runs_backward = [&](const NodeInfo& node) {
    bool any_out = false, any_in = false;
    for (int out : g.list(node.outputs)) any_out = any_out || has_grad(out);
    for (std::size_t i = 0; i < node.inputs.size; ++i)
      any_in = any_in || (node.op->differentiable[i] && has_grad(g.list(node.inputs)[i]));
    return any_out && any_in;
  };
  // pending[v]: the backward steps still to write a contribution to v's gradient. A
  // parameter's update goes right after the step that brings it to 0, so the gradient
  // dies there instead of living to the end of the plan.
  std::vector<int> pending(n_values, 0);
  for (int n : order) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    if (!runs_backward(node)) continue;
    for (std::size_t i = 0; i < node.inputs.size; ++i)
      if (node.op->differentiable[i] && has_grad(g.list(node.inputs)[i])) ++pending[static_cast<std::size_t>(g.list(node.inputs)[i])];
  }
  s.steps.reserve(s.steps.size() + 1 + order.size() + updates);

  Step seed;
  seed.kind = StepKind::Fill;
  seed.target = grad_tensor(loss);
  seed.fill_value = 1.0f;
  s.steps.push_back(seed);
  std::vector<char> written(n_values, 0);
  written[static_cast<std::size_t>(loss)] = 1;

  std::vector<int> completed;  // parameters whose gradient the current step completes
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(*it)];
    if (!runs_backward(node)) continue;
    if (!node.op->f32.backward || !node.op->f64.backward)
      throw GraphError("op '" + node.op->name + "' has no gradient rule (node '" + node.name + "')");

    const Step& fwd = s.steps[static_cast<std::size_t>(forward_step_of[static_cast<std::size_t>(*it)])];
    Step step;
    step.kind = StepKind::Backward;
    step.node = *it;
    step.in = fwd.in;  // the same lists: a backward step reads its forward step's tensors
    step.out = fwd.out;
    step.saved = fwd.saved;
    for (int out : g.list(node.outputs)) s.push(step.d_out, has_grad(out) ? grad_tensor(out) : -1);
    completed.clear();
    for (std::size_t i = 0; i < node.inputs.size; ++i) {
      const int v = g.list(node.inputs)[i];
      if (!(node.op->differentiable[i] && has_grad(v))) {
        s.push(step.d_in, -1);
        continue;
      }
      const int dv = grad_tensor(v);
      s.push(step.d_in, dv, written[static_cast<std::size_t>(v)]);
      written[static_cast<std::size_t>(v)] = 1;
      if (--pending[static_cast<std::size_t>(v)] == 0 && is_parameter[static_cast<std::size_t>(v)])
        completed.push_back(v);
    }
    std::vector<Shape> in_shapes;
    if (node.op->workspace)
      for (int t : s.list(step.in)) in_shapes.push_back(s.tensors[static_cast<std::size_t>(t)].shape);
    step.workspace = scratch(g, s, node.op->workspace, node, in_shapes, TensorRole::Workspace, "ws:", ":bwd");
    s.steps.push_back(step);
    if (!request.update) continue;
    std::sort(completed.begin(), completed.end());  // by value index, as declared
    for (int v : completed) {
      Step update;
      update.kind = StepKind::Update;
      update.target = s.value_tensor[static_cast<std::size_t>(v)];
      update.grad = s.grad_tensor[static_cast<std::size_t>(v)];
      s.steps.push_back(update);
    }
  }

  // Parameters wanting a gradient that nothing wrote (the loss reaches them only through
  // a non-differentiable path) cannot occur: has_grad implies a contribution.
  std::vector<int> wanted;
  for (std::size_t v = 0; v < n_values; ++v)
    if (has_grad(static_cast<int>(v)) && (is_parameter[v] ||
                                          std::find(request.inputs.begin(), request.inputs.end(),
                                                    static_cast<int>(v)) != request.inputs.end()))
      wanted.push_back(static_cast<int>(v));
  if (request.keep_gradients)
    for (int v : wanted) s.keep.push_back(s.grad_tensor[static_cast<std::size_t>(v)]);  // distinct
  s.loss = s.value_tensor[static_cast<std::size_t>(loss)];
  add_keep(s, s.loss);
  return s;
}

}  // namespace plangrad
