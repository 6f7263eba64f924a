#include "engine/eval_roles.hpp"

#include <algorithm>
#include <vector>

#include "core/errors.hpp"
#include "planner/passes.hpp"

namespace plangrad {
namespace {

std::string names_of(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "'" : ", '") + n + "'";
  return s;
}

// Every value's shape with the batch left symbolic (kBatchDim).
struct BatchShapes {
  IndexedGraph g;
  std::vector<Shape> shapes;

  explicit BatchShapes(const Graph& graph) : g(index_graph(graph)), shapes(symbolic_shapes(g, toposort(g))) {}
  int index(const std::string& name) const { return g.find_value(name); }
  const Shape& of(int v) const { return shapes[static_cast<std::size_t>(v)]; }
  bool scalar(int v) const { return of(v).empty(); }
  // [N, C]: two dimensions, the first the batch.
  bool batch_by_classes(int v) const { return of(v).size() == 2 && of(v)[0] == kBatchDim && of(v)[1] > 0; }
};

}  // namespace

EvalRoles eval_roles(const Graph& graph) {
  EvalRoles r;
  std::vector<std::string> image_inputs, label_inputs, other_inputs;
  for (const ValueDecl& v : graph.values) {
    if (v.kind != ValueKind::Input) continue;
    const std::string described = "'" + v.name + "' " + shape_str(v.shape);
    if (v.shape.size() == 1) label_inputs.push_back(v.name);
    else if (v.shape.size() == 2 || v.shape.size() == 4) image_inputs.push_back(v.name);
    else other_inputs.push_back(described);
    if (!v.shape.empty() && v.shape[0] != kBatchDim)
      throw UsageError("input " + described +
                       ": evaluation needs inputs whose first dimension is the symbolic batch N");
  }
  if (!other_inputs.empty())
    throw UsageError("input " + other_inputs.front() +
                     " is neither images ([N, features] or [N, C, H, W]) nor labels ([N])");
  if (image_inputs.size() != 1)
    throw UsageError("expected one image input of shape [N, features] or [N, C, H, W], found " +
                     names_of(image_inputs));
  if (label_inputs.size() != 1)
    throw UsageError("expected one label input of shape [N] (class indices), found " + names_of(label_inputs));
  r.input = image_inputs.front();
  r.target = label_inputs.front();
  r.input_shape = graph.find_value(r.input)->shape;
  r.features = numel(Shape(r.input_shape.begin() + 1, r.input_shape.end()));

  const BatchShapes shapes(graph);
  std::vector<std::string> non_scalar_outputs;
  for (const std::string& out : graph.outputs) {
    const int v = shapes.index(out);
    if (v < 0) throw UsageError("graph output '" + out + "' is not a value of the graph");
    if (shapes.scalar(v)) {
      if (r.loss.empty()) r.loss = out;
    } else {
      non_scalar_outputs.push_back(out);
    }
  }
  const Node* sce = nullptr;  // the softmax_cross_entropy node computing the loss
  if (r.loss.empty()) {
    int found = 0;
    for (const Node& node : graph.nodes)
      if (node.op == "softmax_cross_entropy") {
        sce = &node;
        ++found;
      }
    if (found != 1)
      throw UsageError("expected a scalar graph output (the loss) or exactly one softmax_cross_entropy node; "
                       "the graph's outputs are " + names_of(graph.outputs) + " and it has " +
                       std::to_string(found) + " softmax_cross_entropy nodes");
    r.loss = sce->outputs.front();
  } else {
    for (const Node& node : graph.nodes)
      if (node.op == "softmax_cross_entropy" && node.outputs.front() == r.loss) sce = &node;
  }

  if (sce) {
    r.logits = sce->inputs.at(0);
    if (sce->inputs.at(1) != r.target)
      throw UsageError("the loss '" + r.loss + "' (softmax_cross_entropy node '" + sce->name + "') reads labels '" +
                       sce->inputs.at(1) + "', not the label input '" + r.target + "'");
  } else if (non_scalar_outputs.size() == 1) {
    r.logits = non_scalar_outputs.front();
  } else {
    throw UsageError("the loss '" + r.loss + "' is not computed by softmax_cross_entropy, so the logits must be "
                     "the graph's one non-scalar output; found " + names_of(non_scalar_outputs));
  }
  const int logits = shapes.index(r.logits);
  if (!shapes.batch_by_classes(logits))
    throw UsageError("the logits '" + r.logits + "' must be [N, classes] (or [N, 1]: one logit), got " +
                     shape_str(shapes.of(logits)));
  r.columns = static_cast<std::size_t>(shapes.of(logits)[1]);
  r.classes = classes_of(r.columns);
  return r;
}

void check_image_shape(const EvalRoles& roles, std::size_t image_rows, std::size_t image_cols) {
  const Shape& s = roles.input_shape;
  const Dim rows = static_cast<Dim>(image_rows), cols = static_cast<Dim>(image_cols);
  const bool fits = s.size() == 2 ? s[1] == rows * cols : s[1] == 1 && s[2] == rows && s[3] == cols;
  if (!fits)
    throw UsageError("the model's image input '" + roles.input + "' is " + shape_str(s) + ", but the data set's images are " +
                     std::to_string(rows) + "x" + std::to_string(cols) + " (expected [N, " + std::to_string(rows * cols) +
                     "] or [N, 1, " + std::to_string(rows) + ", " + std::to_string(cols) + "])");
}

ImageSet load_image_set(const std::string& dir, Split split, const EvalRoles& roles) {
  // IDX labels are bytes: with more than 256 classes every byte is one.
  ImageSet set = load_mnist_dir(dir, split, std::min<std::size_t>(roles.classes, 256));
  check_image_shape(roles, set.rows, set.cols);
  return set;
}

}  // namespace plangrad
