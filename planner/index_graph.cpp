// index_graph: checks a Graph's names, ops, arities and attributes, and resolves names
// to indices for the passes that follow.
#include <unordered_set>
#include <utility>

#include "core/errors.hpp"
#include "planner/indexed_graph.hpp"

namespace plangrad {

int IndexedGraph::find_value(const std::string& name) const {
  const auto it = value_index.find(name);
  return it == value_index.end() ? -1 : it->second;
}

int IndexedGraph::require_value(const std::string& name, const char* what) const {
  const int v = find_value(name);
  if (v < 0) throw GraphError(std::string(what) + " '" + name + "' is not a value of the graph");
  return v;
}

namespace {

ValueRole role_of(ValueKind kind) {
  switch (kind) {
    case ValueKind::Input: return ValueRole::Input;
    case ValueKind::Parameter: return ValueRole::Parameter;
    case ValueKind::State: return ValueRole::State;
  }
  return ValueRole::Input;
}

// Appends a value; `what` and `name` name the declaration or node that makes it, in errors.
int add_value(IndexedGraph& g, ValueInfo info, const char* what, const std::string& name) {
  auto where = [&] { return std::string(what) + " '" + name + "'"; };
  if (info.name.empty()) throw GraphError(where() + ": a value has an empty name");
  const int index = static_cast<int>(g.values.size());
  if (!g.value_index.emplace(info.name, index).second)
    throw GraphError(where() + ": duplicate value name '" + info.name + "'");
  g.values.push_back(std::move(info));
  return index;
}

void check_declared_shape(const ValueDecl& v) {
  for (Dim d : v.shape)
    if (d < 0 && !(d == kBatchDim && v.kind == ValueKind::Input))
      throw ShapeError(std::string(kind_name(v.kind)) + " '" + v.name + "' has an invalid shape " +
                       shape_str(v.shape));
}

const OpDef& checked_op(const Node& node) {
  const OpDef* op = lookup_op(node.op);
  if (!op) throw GraphError("node '" + node.name + "': unknown op '" + node.op + "'");
  if (!op->takes(node.inputs.size()))
    throw GraphError(node.op + " '" + node.name + "': takes " + op->arity() +
                     " inputs, got " + std::to_string(node.inputs.size()));
  if (node.outputs.size() != op->outputs.size())
    throw GraphError(node.op + " '" + node.name + "': has " + std::to_string(op->outputs.size()) +
                     " outputs, got " + std::to_string(node.outputs.size()));
  return *op;
}

}  // namespace

IndexedGraph index_graph(const Graph& graph) {
  IndexedGraph g;
  for (const ValueDecl& v : graph.values) {
    check_declared_shape(v);
    add_value(g, {v.name, role_of(v.kind), v.shape, -1}, kind_name(v.kind), v.name);
  }

  std::unordered_set<std::string> node_names;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    if (node.name.empty()) throw GraphError("node #" + std::to_string(n) + " has an empty name");
    if (!node_names.insert(node.name).second) throw GraphError("duplicate node name '" + node.name + "'");
    NodeInfo info;
    info.name = node.name;
    info.op = &checked_op(node);
    info.attrs = normalize_attrs(*info.op, node.name, node.attrs);
    for (const std::string& out : node.outputs)
      info.outputs.push_back(add_value(g, {out, ValueRole::Intermediate, {}, static_cast<int>(n)}, "node", node.name));
    g.nodes.push_back(std::move(info));
  }

  // Inputs resolve once every value is known: a node may name a value that a later node
  // produces (the order in the file is not the order of execution; toposort finds that).
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    for (const std::string& in : node.inputs) {
      const int v = g.find_value(in);
      if (v < 0) throw GraphError(node.op + " '" + node.name + "': input '" + in + "' is not a value of the graph");
      g.nodes[n].inputs.push_back(v);
    }
  }
  for (const std::string& out : graph.outputs) g.outputs.push_back(g.require_value(out, "graph output"));
  return g;
}

}  // namespace plangrad
