// build_backward: the seed of the loss's gradient, a Backward step per node that passes a
// gradient on, and the optimizer's Update steps.
#include <algorithm>

#include "core/errors.hpp"
#include "planner/schedule.hpp"

namespace plangrad {
namespace {

// Which values get a gradient: those that depend, through differentiable inputs, on
// something that wants one (the parameters, the requested inputs) and that the loss
// depends on the same way.
std::vector<bool> gradient_values(const IndexedGraph& g, const std::vector<int>& order,
                                  const BackwardRequest& request) {
  std::vector<bool> needs(g.values.size(), false), reaches(g.values.size(), false);
  for (std::size_t v = 0; v < g.values.size(); ++v)
    needs[v] = request.parameters && g.values[v].role == ValueRole::Parameter;
  for (int v : request.frozen) needs[static_cast<std::size_t>(v)] = false;
  for (int v : request.inputs) needs[static_cast<std::size_t>(v)] = true;
  for (int n : order) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    bool any = false;
    for (std::size_t i = 0; i < node.inputs.size(); ++i)
      any = any || (node.op->differentiable_at(i) && needs[static_cast<std::size_t>(node.inputs[i])]);
    for (int out : node.outputs) needs[static_cast<std::size_t>(out)] = any;
  }
  reaches[static_cast<std::size_t>(request.loss)] = true;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(*it)];
    bool any = false;
    for (int out : node.outputs) any = any || reaches[static_cast<std::size_t>(out)];
    if (!any) continue;
    for (std::size_t i = 0; i < node.inputs.size(); ++i)
      if (node.op->differentiable_at(i)) reaches[static_cast<std::size_t>(node.inputs[i])] = true;
  }
  std::vector<bool> grad(g.values.size());
  for (std::size_t v = 0; v < g.values.size(); ++v) grad[v] = needs[v] && reaches[v];
  return grad;
}

}  // namespace

Schedule build_backward(const IndexedGraph& g, Schedule s, const BackwardRequest& request) {
  const int loss = request.loss;
  if (loss < 0 || s.value_tensor[static_cast<std::size_t>(loss)] < 0)
    throw GraphError("the loss is not computed by this plan");
  const TensorInfo& loss_info = s.tensors[static_cast<std::size_t>(s.value_tensor[static_cast<std::size_t>(loss)])];
  if (numel(loss_info.shape) != 1)
    throw ShapeError("the loss '" + loss_info.name + "' must be a scalar, got " + shape_str(loss_info.shape));

  // The forward steps, by node.
  std::vector<int> order, forward_step(g.nodes.size(), -1);
  for (std::size_t i = 0; i < s.steps.size(); ++i)
    if (s.steps[i].kind == StepKind::Forward) {
      order.push_back(s.steps[i].node);
      forward_step[static_cast<std::size_t>(s.steps[i].node)] = static_cast<int>(i);
    }

  const std::vector<bool> with_grad = gradient_values(g, order, request);
  auto has_grad = [&](int v) { return with_grad[static_cast<std::size_t>(v)]; };
  if (!has_grad(loss))
    throw GraphError("the loss '" + g.values[static_cast<std::size_t>(loss)].name +
                     "' depends on nothing that wants a gradient");
  for (int v : request.inputs)
    if (!has_grad(v))
      throw GraphError("the loss does not depend on input '" + g.values[static_cast<std::size_t>(v)].name + "'");

  // Input i of a node receives a gradient from its backward step.
  auto gets_grad = [&](const NodeInfo& node, std::size_t i) {
    return node.op->differentiable_at(i) && has_grad(node.inputs[i]);
  };
  // A node runs backward when an output carries a gradient and an input receives one.
  auto runs_backward = [&](const NodeInfo& node) {
    bool any_in = false;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) any_in = any_in || gets_grad(node, i);
    return any_in && std::any_of(node.outputs.begin(), node.outputs.end(), has_grad);
  };
  // pending[v]: the backward steps still to add a contribution to v's gradient. A
  // parameter's update goes right after the step that brings it to 0, so that the
  // gradient dies there instead of living to the end of the plan.
  std::vector<int> pending(g.values.size(), 0);
  for (int n : order) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    if (!runs_backward(node)) continue;
    for (std::size_t i = 0; i < node.inputs.size(); ++i)
      if (gets_grad(node, i)) ++pending[static_cast<std::size_t>(node.inputs[i])];
  }

  auto grad_tensor = [&](int v) {
    int& t = s.grad_tensor[static_cast<std::size_t>(v)];
    if (t < 0) {
      const TensorInfo& value = s.tensors[static_cast<std::size_t>(s.value_tensor[static_cast<std::size_t>(v)])];
      t = s.add_tensor({"grad:" + value.name, value.shape, v, TensorRole::Gradient});
    }
    return t;
  };

  Step seed;
  seed.kind = StepKind::Fill;
  seed.target = grad_tensor(loss);
  seed.fill_value = 1.0f;
  s.steps.push_back(seed);
  std::vector<bool> written(g.values.size(), false);  // a first contribution overwrites
  std::vector<Step> deferred;  // request.updates_last: the Update steps, in order
  written[static_cast<std::size_t>(loss)] = true;

  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(*it)];
    if (!runs_backward(node)) continue;
    if (!node.op->f32.backward || !node.op->f64.backward)
      throw GraphError("op '" + node.op->name + "' has no gradient rule (node '" + node.name + "')");

    Step step;
    step.kind = StepKind::Backward;
    step.node = *it;
    {
      const Step& fwd = s.steps[static_cast<std::size_t>(forward_step[static_cast<std::size_t>(*it)])];
      step.in = fwd.in;  // a backward step reads its forward step's tensors
      step.out = fwd.out;
      step.saved = fwd.saved;
    }
    for (int out : node.outputs) step.d_out.push_back(has_grad(out) ? grad_tensor(out) : -1);
    std::vector<int> completed;  // parameters whose gradient this step completes
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const int v = node.inputs[i];
      if (!gets_grad(node, i)) {
        step.d_in.push_back(-1);
        step.accumulate.push_back(0);
        continue;
      }
      step.d_in.push_back(grad_tensor(v));
      step.accumulate.push_back(written[static_cast<std::size_t>(v)] ? 1 : 0);
      written[static_cast<std::size_t>(v)] = true;
      if (--pending[static_cast<std::size_t>(v)] == 0 && g.values[static_cast<std::size_t>(v)].role == ValueRole::Parameter)
        completed.push_back(v);
    }
    step.workspace = add_scratch(s, node.op->workspace, node, step.in, TensorRole::Workspace, "ws:", ":bwd");
    s.steps.push_back(std::move(step));
    if (!request.update) continue;
    std::sort(completed.begin(), completed.end());  // by value index, as declared
    for (int v : completed) {
      Step update;
      update.kind = StepKind::Update;
      update.target = s.value_tensor[static_cast<std::size_t>(v)];
      update.grad = s.grad_tensor[static_cast<std::size_t>(v)];
      (request.updates_last ? deferred : s.steps).push_back(update);
    }
  }
  s.steps.insert(s.steps.end(), deferred.begin(), deferred.end());

  if (request.keep_gradients)
    for (std::size_t v = 0; v < g.values.size(); ++v) {
      const bool wanted = g.values[v].role == ValueRole::Parameter ||
                          std::find(request.inputs.begin(), request.inputs.end(), static_cast<int>(v)) != request.inputs.end();
      if (with_grad[v] && wanted) s.keep.push_back(s.grad_tensor[v]);  // distinct
    }
  s.loss = s.value_tensor[static_cast<std::size_t>(loss)];
  s.add_keep(s.loss);
  return s;
}

}  // namespace plangrad
