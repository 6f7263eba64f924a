// winograd: see planner/winograd.hpp. The transformed filters are computed at every run,
// as fold_batchnorm's folded weights are, because Eval plans outlive parameter changes
// (fit's validation plans, a Predictor over a model still training): 16 values per filter
// and channel, against the 20 multiplies it saves per output block, filter and channel
// (ops/conv2d_winograd.hpp's kWinogradMinOutputs keeps it to convolutions where that pays).
#include "planner/winograd.hpp"

#include <utility>

#include "ops/conv2d.hpp"
#include "ops/conv2d_winograd.hpp"

namespace plangrad {

WinogradGraph winograd(IndexedGraph g, std::vector<int> order, const std::vector<Shape>& shapes) {
  const OpDef& conv = conv2d_op();
  WinogradGraph out;
  std::vector<int> new_order;
  new_order.reserve(order.size());
  auto node_named = [&](const std::string& name) {
    for (const NodeInfo& n : g.nodes)
      if (n.name == name) return true;
    return false;
  };
  for (int n : order) {
    NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    if (node.op != &conv ||
        !winograd_applies(shapes[static_cast<std::size_t>(node.inputs[0])],
                          shapes[static_cast<std::size_t>(node.inputs[1])], node.attrs)) {
      new_order.push_back(n);
      continue;
    }
    const int filters = static_cast<int>(g.nodes.size());
    const int u = static_cast<int>(g.values.size());
    ValueInfo info;
    info.name = unused_name(node.name + "/u", [&](const std::string& s) { return g.find_value(s) >= 0; });
    info.producer = filters;
    g.value_index.emplace(info.name, u);
    g.values.push_back(std::move(info));

    NodeInfo transform;
    transform.name = unused_name(node.name + "/winograd", node_named);
    transform.op = &winograd_filters_op();
    transform.inputs = {node.inputs[1]};
    transform.outputs = {u};
    transform.attrs = normalize_attrs(*transform.op, transform.name, Attrs{});

    NodeInfo& c = g.nodes[static_cast<std::size_t>(n)];
    Attrs attrs = normalize_attrs(conv2d_winograd_op(), c.name, Attrs{});
    attrs.set("padding", c.attrs.get_ints("padding"));
    c.op = &conv2d_winograd_op();
    c.inputs[1] = u;
    c.attrs = std::move(attrs);
    g.nodes.push_back(std::move(transform));  // after the last use of `c`: push_back may move nodes
    new_order.push_back(filters);
    new_order.push_back(n);
    ++out.rewritten;
  }
  out.graph = std::move(g);
  out.order = std::move(new_order);
  return out;
}

WinogradGraph winograd_training(IndexedGraph g, const std::vector<int>& order, const std::vector<Shape>& shapes) {
  const OpDef& conv = conv2d_op();
  const OpDef& conv_nobias = conv2d_nobias_op();
  WinogradGraph out;
  for (int n : order) {
    NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    if ((node.op != &conv && node.op != &conv_nobias) ||
        !winograd_trains(shapes[static_cast<std::size_t>(node.inputs[0])],
                         shapes[static_cast<std::size_t>(node.inputs[1])], node.attrs))
      continue;
    node.op = node.op == &conv ? &conv2d_by_winograd_op() : &conv2d_nobias_by_winograd_op();
    ++out.rewritten;
  }
  out.graph = std::move(g);
  out.order = order;
  return out;
}

}  // namespace plangrad
