// The planner's view of a Graph: values and nodes by index, each node's op resolved and
// its attributes normalized; and the passes that read it, up to every value's shape:
//
//   index_graph -> toposort -> prune -> infer_shapes   (symbolic_shapes: the batch left open)
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/graph.hpp"
#include "core/visibility.hpp"
#include "ops/op.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

enum class ValueRole : std::uint8_t { Input, Parameter, State, Intermediate };

struct ValueInfo {
  std::string name;
  ValueRole role = ValueRole::Intermediate;
  Shape declared;     // inputs, parameters, state (an input's may hold kBatchDim)
  int producer = -1;  // intermediates: the node whose output it is
};

struct NodeInfo {
  std::string name;
  const OpDef* op = nullptr;
  std::vector<int> inputs;   // value indices, in the op's declared order
  std::vector<int> outputs;  // value indices
  Attrs attrs;               // normalized: every attribute the op declares is present
};

// Plain data: a test may build one by hand. Only find_value and require_value read
// value_index; the passes read values and nodes.
struct IndexedGraph {
  std::vector<ValueInfo> values;
  std::vector<NodeInfo> nodes;
  std::vector<int> outputs;                          // the graph's declared outputs
  std::unordered_map<std::string, int> value_index;  // value name -> index in values

  int find_value(const std::string& name) const;                       // -1 when absent
  int require_value(const std::string& name, const char* what) const;  // else a GraphError
};

// Checks names, ops, arities and attributes and resolves names to indices. Values are
// numbered declared values first, then node by node its outputs. Unknown op, wrong arity,
// bad attributes, unknown, empty or duplicate names: a GraphError naming the node and the
// offending name; a symbolic dimension outside an input's shape: a ShapeError.
IndexedGraph index_graph(const Graph& graph);

// The nodes in an order where every producer comes before its consumers (Boost.Graph's
// topological_sort). A cycle is a GraphError naming the nodes on it.
std::vector<int> toposort(const IndexedGraph& g);

// The nodes of `order` that some root value depends on, in order.
std::vector<int> prune(const IndexedGraph& g, const std::vector<int>& order,
                       const std::vector<int>& roots);

// One shape per value: declared shapes with kBatchDim bound to `batch` (a ShapeError when
// an input has one and batch <= 0), then each node of `order` by its op's shape rule.
// Values of nodes outside `order` keep an empty shape.
std::vector<Shape> infer_shapes(const IndexedGraph& g, const std::vector<int>& order,
                                std::int64_t batch);

// Every value's shape with the batch left symbolic: infer_shapes at both kNominalBatches
// (ops/op.hpp), merged by mark_batch_dims. What a summary, a model check or an evaluation
// reads without choosing a batch size.
std::vector<Shape> symbolic_shapes(const IndexedGraph& g, const std::vector<int>& order);

// `base`, or base + "#k" for the first k = 2, 3, ... that taken(name) says is free: the
// name of a value or node that a planner pass adds to a graph (fold_batchnorm, winograd).
template <class Taken>
std::string unused_name(const std::string& base, const Taken& taken) {
  if (!taken(base)) return base;
  for (int k = 2;; ++k) {
    std::string name = base + "#" + std::to_string(k);
    if (!taken(name)) return name;
  }
}

}  // namespace plangrad
PLANGRAD_PUBLIC_END
