// toposort: the execution order of the nodes, by Boost.Graph's topological_sort over the
// node-to-node dependency graph. A cycle is reported with the nodes on it, found by a
// depth-first search that records the tree edges and stops at the first back edge.
#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/depth_first_search.hpp>
#include <boost/graph/topological_sort.hpp>
#include <iterator>
#include <vector>

#include "core/errors.hpp"
#include "planner/indexed_graph.hpp"

namespace plangrad {
namespace {

using DepGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
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

std::string cycle_error(const IndexedGraph& g, const DepGraph& deps) {
  std::vector<Vertex> parent(g.nodes.size());
  try {
    boost::depth_first_search(deps, boost::visitor(CycleRecorder{{}, &parent}));
  } catch (const CycleFound& cycle) {
    std::string names;
    for (Vertex n : cycle.nodes) names += "'" + g.nodes[n].name + "' -> ";
    return "the graph has a cycle: " + names + "'" + g.nodes[cycle.nodes.front()].name + "'";
  }
  return "the graph has a cycle";
}

}  // namespace

std::vector<int> toposort(const IndexedGraph& g) {
  // An edge producer -> consumer per use of a value that a node produces. Added consumer
  // by consumer, so each node's out-edges are in node order: the order the depth-first
  // search visits them in, and so the order returned, depends only on the graph.
  DepGraph deps(g.nodes.size());
  for (std::size_t n = 0; n < g.nodes.size(); ++n)
    for (int v : g.nodes[n].inputs) {
      const int producer = g.values[static_cast<std::size_t>(v)].producer;
      if (producer >= 0) boost::add_edge(static_cast<Vertex>(producer), n, deps);
    }
  std::vector<Vertex> reversed;
  try {
    boost::topological_sort(deps, std::back_inserter(reversed));
  } catch (const boost::not_a_dag&) {
    throw GraphError(cycle_error(g, deps));
  }
  return std::vector<int>(reversed.rbegin(), reversed.rend());
}

}  // namespace plangrad
