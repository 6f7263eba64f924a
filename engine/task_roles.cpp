#include "engine/task_roles.hpp"

#include <vector>

#include "core/errors.hpp"
#include "planner/passes.hpp"

namespace plangrad {
namespace {

bool is_loss_op(const std::string& op) {
  return op == "softmax_cross_entropy" || op == "binary_cross_entropy_with_logits" || op == "mse_loss";
}

std::string names_of(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "'" : ", '") + n + "'";
  return s;
}

// The standardize node (inverse 0) that `value` is the output of (`of_input` false) or
// the input of (`of_input` true), its mean and std state; nullptr when there is none.
const Node* standardize_of(const Graph& graph, const std::string& value, bool of_input) {
  for (const Node& node : graph.nodes) {
    if (node.op != "standardize" || (node.attrs.has("inverse") && node.attrs.get_int("inverse") != 0)) continue;
    if (of_input ? node.inputs[0] != value : node.outputs.front() != value) continue;
    for (std::size_t i = 1; i < 3; ++i) {
      const ValueDecl* d = graph.find_value(node.inputs[i]);
      if (!d || d->kind != ValueKind::State) return nullptr;
    }
    return &node;
  }
  return nullptr;
}

}  // namespace

const char* task_name(Task task) {
  switch (task) {
    case Task::Classification: return "classification";
    case Task::Binary: return "binary";
    case Task::Regression: return "regression";
  }
  return "?";
}

TaskRoles task_roles(const Graph& graph) {
  const IndexedGraph g = index_graph(graph);
  const std::vector<Shape> shapes = symbolic_shapes(g, toposort(g));
  const auto shape_of = [&](const std::string& name) -> const Shape& {
    const int v = g.find_value(name);
    if (v < 0) throw UsageError("'" + name + "' is not a value of the graph");
    return shapes[static_cast<std::size_t>(v)];
  };

  // The loss: the first scalar output, else the one loss node.
  TaskRoles r;
  const Node* loss = nullptr;
  for (const std::string& out : graph.outputs)
    if (shape_of(out).empty()) {
      r.loss = out;
      break;
    }
  for (const Node& node : graph.nodes) {
    if (!r.loss.empty()) {
      if (node.outputs.front() == r.loss) loss = &node;
    } else if (is_loss_op(node.op)) {
      if (loss)
        throw UsageError("the graph declares no scalar output (the loss) and has several loss nodes ('" + loss->name +
                         "', '" + node.name + "'): make the one to minimize the first output");
      loss = &node;
    }
  }
  if (!loss)
    throw UsageError("expected a loss: a scalar graph output, or one softmax_cross_entropy, "
                     "binary_cross_entropy_with_logits or mse_loss node; the graph's outputs are " +
                     names_of(graph.outputs));
  if (!is_loss_op(loss->op))
    throw UsageError("the loss '" + loss->outputs.front() + "' is computed by " + loss->op + " '" + loss->name +
                     "'; the task is read from the loss, which must be softmax_cross_entropy (classification), "
                     "binary_cross_entropy_with_logits (binary) or mse_loss (regression)");
  r.loss = loss->outputs.front();
  r.loss_op = loss->op;
  const std::string& out = loss->inputs.at(0);
  r.target = loss->inputs.at(1);
  // A regression may compare standardized values: the loss reads standardize(y), and the
  // prediction in y's units is the inverse standardize of the loss's first input.
  const Node* target_std = loss->op == "mse_loss" ? standardize_of(graph, r.target, false) : nullptr;
  if (target_std) {
    r.target = target_std->inputs[0];
    r.target_standardize = target_std->name;
  }
  const ValueDecl* target = graph.find_value(r.target);
  if (!target || target->kind != ValueKind::Input)
    throw UsageError("the loss '" + r.loss + "' compares '" + out + "' with '" + r.target +
                     "', which is not a graph input: the target must be fed from the data");
  const Shape& o = shape_of(out);
  const Shape& t = target->shape;
  const bool batch_rows = o.size() == 2 && o[0] == kBatchDim && o[1] > 0;
  const std::string described = "'" + out + "' " + shape_str(o) + " and the target '" + r.target + "' " + shape_str(t);
  if (loss->op == "softmax_cross_entropy") {
    if (!batch_rows || o[1] < 2 || t != Shape{kBatchDim})
      throw UsageError("a classifier's loss takes logits [N, C] with C >= 2 and class indices [N]; the loss '" + r.loss +
                       "' takes " + described);
    r.task = Task::Classification;
    r.logits = out;
    r.columns = r.classes = static_cast<std::size_t>(o[1]);
    r.target_columns = 1;
  } else if (loss->op == "binary_cross_entropy_with_logits") {
    if (!batch_rows || o[1] != 1 || t != Shape{kBatchDim, 1})
      throw UsageError("a binary classifier's loss takes one logit [N, 1] and the 0/1 label [N, 1]; the loss '" +
                       r.loss + "' takes " + described);
    r.task = Task::Binary;
    r.logits = out;
    r.columns = 1;
    r.classes = 2;
    r.target_columns = 1;
  } else {
    if (!batch_rows || t != o)
      throw UsageError("a regression's loss takes predictions [N, K] and targets of the same shape; the loss '" +
                       r.loss + "' takes " + described);
    r.task = Task::Regression;
    r.prediction = out;
    if (target_std) {
      const Node* inverse = nullptr;
      for (const Node& node : graph.nodes)
        if (node.op == "standardize" && node.inputs[0] == out && node.inputs[1] == target_std->inputs[1] &&
            node.inputs[2] == target_std->inputs[2] && node.attrs.has("inverse") && node.attrs.get_int("inverse") == 1)
          inverse = &node;
      if (!inverse)
        throw UsageError("the loss '" + r.loss + "' compares '" + out + "' with the standardized target '" +
                         loss->inputs[1] + "'; the graph needs an inverse standardize node of '" + out +
                         "' with the same mean and std ('" + target_std->inputs[1] + "', '" + target_std->inputs[2] +
                         "'), the prediction in the target's units");
      r.prediction = inverse->outputs.front();
    }
    r.columns = r.target_columns = static_cast<std::size_t>(o[1]);
  }

  std::vector<std::string> others;
  for (const ValueDecl& v : graph.values)
    if (v.kind == ValueKind::Input && v.name != r.target) others.push_back(v.name);
  if (others.size() != 1)
    throw UsageError("expected one input besides the target '" + r.target + "' (the features), found " +
                     names_of(others));
  r.input = others.front();
  r.input_shape = graph.find_value(r.input)->shape;
  if (r.input_shape.size() < 2 || r.input_shape[0] != kBatchDim)
    throw UsageError("the features input '" + r.input + "' is " + shape_str(r.input_shape) +
                     "; it must be [N, F] (or an image [N, C, H, W]) with N the symbolic batch");
  r.features = numel(Shape(r.input_shape.begin() + 1, r.input_shape.end()));
  if (const Node* n = standardize_of(graph, r.input, true)) r.input_standardize = n->name;
  return r;
}

}  // namespace plangrad
