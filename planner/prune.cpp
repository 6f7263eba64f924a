// prune: keeps the nodes that some root value depends on.
#include "planner/indexed_graph.hpp"

namespace plangrad {

std::vector<int> prune(const IndexedGraph& g, const std::vector<int>& order,
                       const std::vector<int>& roots) {
  std::vector<bool> needed_value(g.values.size(), false), needed_node(g.nodes.size(), false);
  for (int r : roots) needed_value[static_cast<std::size_t>(r)] = true;
  // Reverse topological order: every consumer is decided before its producers.
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(*it)];
    bool needed = false;
    for (int out : node.outputs) needed = needed || needed_value[static_cast<std::size_t>(out)];
    if (!needed) continue;
    needed_node[static_cast<std::size_t>(*it)] = true;
    for (int in : node.inputs) needed_value[static_cast<std::size_t>(in)] = true;
  }
  std::vector<int> kept;
  for (int n : order)
    if (needed_node[static_cast<std::size_t>(n)]) kept.push_back(n);
  return kept;
}

}  // namespace plangrad
