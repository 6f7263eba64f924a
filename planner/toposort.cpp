// toposort: the execution order of the nodes, by Boost.Graph's topological_sort over the
// node-to-node dependency graph. A cycle is reported with the nodes on it, found by a
// depth-first search that records the tree edges and stops at the first back edge.
#include <algorithm>
#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <boost/graph/depth_first_search.hpp>
#include <boost/graph/topological_sort.hpp>
#include <iterator>
#include <utility>
#include <vector>

#include "core/errors.hpp"
#include "planner/passes.hpp"

namespace plangrad {
namespace {

// Compressed sparse rows: the edges in one array, sized once (an adjacency_list would
// allocate a vector per node, and at 100k nodes that was a fifth of an inference plan).
using DepGraph = boost::compressed_sparse_row_graph<boost::directedS>;
using Vertex = boost::graph_traits<DepGraph>::vertex_descriptor;
using Edge = boost::graph_traits<DepGraph>::edge_descriptor;

struct CycleFound {
  std::vector<Vertex> nodes;
};

// Records DFS tree parents; on the first back edge u -> v the cycle is v -> ... -> u -> v.
struct CycleRecorder : boost::default_dfs_visitor {
  std::vector<Vertex>* parent;
  void tree_edge(Edge e, const DepGraph& g) const { (*parent)[boost::target(e, g)] = boost::source(e, g); }
  void back_edge(Edge e, const DepGraph& g) const {
    const Vertex u = boost::source(e, g), v = boost::target(e, g);
    CycleFound found;
    for (Vertex w = u; w != v; w = (*parent)[w]) found.nodes.push_back(w);
    found.nodes.push_back(v);
    std::reverse(found.nodes.begin(), found.nodes.end());
    throw found;
  }
};

}  // namespace

std::vector<int> toposort(const IndexedGraph& g) {
  // An edge producer -> consumer per use of a value that some node produces, from the
  // consumer lists index_graph made: node by node, so the edges come sorted by producer,
  // and each producer's by consumer (the order in which the depth-first search visits
  // them, and so the order it returns).
  const std::size_t n_nodes = g.nodes.size();
  std::vector<std::pair<Vertex, Vertex>> edges;
  edges.reserve(g.consumer_ids.size());
  for (std::size_t n = 0; n < n_nodes; ++n) {
    const IdRange outputs = g.nodes[n].outputs;
    const std::size_t first = edges.size();
    for (int v : g.list(outputs))
      for (int c : g.consumers(v)) edges.push_back({static_cast<Vertex>(n), static_cast<Vertex>(c)});
    // Each output's consumers are in node order; a node with several outputs merges them.
    if (outputs.size > 1)
      std::stable_sort(edges.begin() + static_cast<std::ptrdiff_t>(first), edges.end(),
                       [](const auto& a, const auto& b) { return a.second < b.second; });
  }
  const DepGraph deps(boost::edges_are_sorted, edges.begin(), edges.end(), n_nodes);

  std::vector<Vertex> reversed;
  try {
    boost::topological_sort(deps, std::back_inserter(reversed));
  } catch (const boost::not_a_dag&) {
    std::vector<Vertex> parent(g.nodes.size());
    try {
      boost::depth_first_search(deps, boost::visitor(CycleRecorder{{}, &parent}));
    } catch (const CycleFound& cycle) {
      std::string names;
      for (Vertex n : cycle.nodes) names += "'" + g.nodes[n].name + "' -> ";
      names += "'" + g.nodes[cycle.nodes.front()].name + "'";
      throw GraphError("the graph has a cycle: " + names);
    }
    throw GraphError("the graph has a cycle");
  }
  return std::vector<int>(reversed.rbegin(), reversed.rend());
}

}  // namespace plangrad
