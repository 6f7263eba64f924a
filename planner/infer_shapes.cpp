// infer_shapes: every value's shape, from the declared shapes and each op's shape rule.
#include "core/errors.hpp"
#include "planner/indexed_graph.hpp"

namespace plangrad {

std::vector<Shape> infer_shapes(const IndexedGraph& g, const std::vector<int>& order,
                                std::int64_t batch) {
  std::vector<Shape> shapes(g.values.size());
  for (std::size_t v = 0; v < g.values.size(); ++v) {
    const ValueInfo& info = g.values[v];
    if (info.role == ValueRole::Intermediate) continue;
    shapes[v] = info.declared;
    for (Dim& d : shapes[v]) {
      if (d != kBatchDim) continue;
      if (batch <= 0)
        throw ShapeError("input '" + info.name + "' has a symbolic batch dimension " +
                         shape_str(info.declared) + ": plan it with a batch size");
      d = batch;
    }
    if (info.role == ValueRole::Input) check_tensor_size(shapes[v], "input '" + info.name + "'");
    else check_tensor_size(shapes[v], std::string(info.role == ValueRole::Parameter ? "parameter '" : "state '") + info.name + "'");
  }
  for (int n : order) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    std::vector<Shape> in;
    for (int v : node.inputs) in.push_back(shapes[static_cast<std::size_t>(v)]);
    std::vector<Shape> out = infer_output_shapes(*node.op, node.name, in, node.attrs);
    for (std::size_t k = 0; k < out.size(); ++k)
      shapes[static_cast<std::size_t>(node.outputs[k])] = std::move(out[k]);
  }
  return shapes;
}

std::vector<Shape> symbolic_shapes(const IndexedGraph& g, const std::vector<int>& order) {
  std::vector<Shape> shapes = infer_shapes(g, order, kNominalBatches[0]);
  const std::vector<Shape> second = infer_shapes(g, order, kNominalBatches[1]);
  for (std::size_t v = 0; v < shapes.size(); ++v) shapes[v] = mark_batch_dims(shapes[v], second[v]);
  return shapes;
}

}  // namespace plangrad
