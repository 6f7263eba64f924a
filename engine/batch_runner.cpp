#include "engine/batch_runner.hpp"

#include <algorithm>

#include "core/errors.hpp"

namespace plangrad {

BatchRunner::BatchRunner(Model& model, const ValueRoles& roles, PlanKind kind, std::size_t batch,
                         Optimizer<float>* optimizer, const char* who) {
  const std::string prefix = std::string(who) + ": ";
  x_len = row_length(model.graph, roles.input, "input", who);
  y_len = row_length(model.graph, roles.target, "target", who);
  const bool training = kind != PlanKind::Inference;
  PlanRequest request;
  request.kind = kind;
  request.batch = static_cast<std::int64_t>(batch);
  if (training) {
    if (roles.loss.empty()) throw UsageError(prefix + "the loss value must be named");
    request.loss = roles.loss;
    request.updates_last = optimizer && optimizer->clipping().norm > 0;
    if (optimizer) request.frozen = optimizer->frozen();
  } else {
    request.mode = static_cast<int>(Mode::Eval);
    if (!roles.loss.empty()) request.outputs.push_back(roles.loss);
  }
  if (!roles.logits.empty()) request.outputs.push_back(roles.logits);
  if (!training && !roles.prediction.empty() && roles.prediction != roles.logits)
    request.outputs.push_back(roles.prediction);
  exec = std::make_unique<Executor<float>>(model, make_plan(model.graph, request), optimizer);

  x = exec->input(roles.input).data;
  if (training || !roles.loss.empty()) y = exec->input(roles.target).data;
  if (!training && !roles.loss.empty()) {
    const TensorRef<const float> l = exec->value(roles.loss);
    if (l.size() != 1)
      throw UsageError(prefix + "the loss '" + roles.loss + "' must be a scalar, got " + shape_str(l.shape));
    loss_value = l.data;
  }
  if (!roles.logits.empty()) {
    const TensorRef<const float> l = exec->value(roles.logits);
    if (l.rank() != 2 || l.dim(0) != static_cast<Dim>(batch) || l.dim(1) < 1)
      throw UsageError(prefix + "the logits '" + roles.logits + "' must be [N, classes] (or [N, 1]: one logit), got " +
                       shape_str(l.shape) + " at batch " + std::to_string(batch));
    logits = l.data;
    columns = static_cast<std::size_t>(l.dim(1));
    if (y_len != 1 && (columns == 1 || y_len != columns))
      throw UsageError(prefix + "the target '" + roles.target + "' has rows of " + std::to_string(y_len) +
                       " values; with the logits '" + roles.logits + "' " + shape_str(l.shape) + " it must hold " +
                       (columns == 1 ? std::string("0/1 labels, [N] or [N, 1]")
                                     : "class indices [N] or one-hot rows [N, " + std::to_string(columns) + "]"));
  }
  if (!training && !roles.prediction.empty()) {
    const TensorRef<const float> p = exec->value(roles.prediction);
    if (p.rank() != 2 || p.dim(0) != static_cast<Dim>(batch) || static_cast<std::size_t>(p.dim(1)) != y_len)
      throw UsageError(prefix + "the prediction '" + roles.prediction + "' must be [N, " + std::to_string(y_len) +
                       "], as the target '" + roles.target + "' is, got " + shape_str(p.shape) + " at batch " +
                       std::to_string(batch));
    prediction = p.data;
    prediction_columns = y_len;
  }
  if (y_len != 1) return;
  const auto fewer = [&](std::size_t c) { label_classes = label_classes ? std::min(label_classes, c) : c; };
  if (columns >= 2) fewer(columns);
  const Plan& plan = exec->plan();
  for (const Node& node : model.graph.nodes) {
    if (node.op != "softmax_cross_entropy" || node.inputs.size() != 2 || node.inputs[1] != roles.target) continue;
    const int t = plan.tensor_of_value(node.inputs[0]);
    if (t < 0) continue;  // pruned from this plan
    const Shape& logits_shape = plan.schedule.tensors[static_cast<std::size_t>(t)].shape;
    if (logits_shape.size() == 2 && logits_shape[1] > 0) fewer(static_cast<std::size_t>(logits_shape[1]));
  }
}

}  // namespace plangrad
