// prune: keeps the nodes that some root value depends on.
#include "planner/passes.hpp"

namespace plangrad {

std::vector<int> prune(const IndexedGraph& g, const std::vector<int>& order,
                       const std::vector<int>& roots) {
  std::vector<char> needed_value(g.values.size(), 0), needed_node(g.nodes.size(), 0);
  for (int r : roots) needed_value[static_cast<std::size_t>(r)] = 1;
  // Reverse topological order: every consumer is decided before its producers.
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(*it)];
    bool needed = false;
    for (int out : g.list(node.outputs)) needed = needed || needed_value[static_cast<std::size_t>(out)];
    if (!needed) continue;
    needed_node[static_cast<std::size_t>(*it)] = 1;
    for (int in : g.list(node.inputs)) needed_value[static_cast<std::size_t>(in)] = 1;
  }
  std::vector<int> kept;
  for (int n : order)
    if (needed_node[static_cast<std::size_t>(n)]) kept.push_back(n);
  return kept;
}

}  // namespace plangrad
