// index_graph: checks a Graph's names, ops, arities and attributes, and resolves names
// to indices for the passes that follow.
#include "engine/errors.hpp"
#include "planner/passes.hpp"

namespace plangrad {

int IndexedGraph::find_value(const std::string& name) const {
  return value_index.find(name, [this](int i) { return std::string_view(values[static_cast<std::size_t>(i)].name); });
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
}  // namespace

IndexedGraph index_graph(const Graph& graph) {
  IndexedGraph g;
  std::size_t n_values = graph.values.size();
  for (const Node& node : graph.nodes) n_values += node.outputs.size();
  g.values.reserve(n_values);
  g.value_index.reserve(n_values);
  // `where` names the declaring place in an error; it is only built when one is thrown.
  auto value_name = [&](int i) { return std::string_view(g.values[static_cast<std::size_t>(i)].name); };
  auto add_value = [&](ValueInfo info, auto&& where) {
    if (info.name.empty()) throw GraphError(where() + ": a value has an empty name");
    g.values.push_back(std::move(info));
    const int index = static_cast<int>(g.values.size()) - 1;
    if (!g.value_index.insert(index, value_name)) {
      const std::string name = g.values.back().name;
      g.values.pop_back();
      throw GraphError(where() + ": duplicate value name '" + name + "'");
    }
    return index;
  };

  for (const ValueDecl& v : graph.values) {
    for (Dim d : v.shape)
      if (d < 0 && !(d == kBatchDim && v.kind == ValueKind::Input))
        throw ShapeError(std::string(kind_name(v.kind)) + " '" + v.name + "' has an invalid shape " +
                         shape_str(v.shape));
    add_value({v.name, role_of(v.kind), v.shape, -1, {}},
              [&] { return std::string(kind_name(v.kind)) + " '" + v.name + "'"; });
  }

  // Node outputs first, so that a node may name a value produced by a later node (the
  // order in the file is not the order of execution; toposort finds that).
  NameIndex node_names;
  node_names.reserve(graph.nodes.size());
  auto node_name = [&](int i) { return std::string_view(graph.nodes[static_cast<std::size_t>(i)].name); };
  g.nodes.resize(graph.nodes.size());
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    auto where = [&] { return "node '" + node.name + "'"; };
    if (node.name.empty()) throw GraphError("node #" + std::to_string(n) + " has an empty name");
    if (!node_names.insert(static_cast<int>(n), node_name))
      throw GraphError("duplicate node name '" + node.name + "'");
    const OpDef* op = lookup_op(node.op);
    if (!op) throw GraphError(where() + ": unknown op '" + node.op + "'");
    if (node.inputs.size() != op->inputs.size())
      throw GraphError(node.op + " '" + node.name + "': takes " + std::to_string(op->inputs.size()) +
                       " inputs, got " + std::to_string(node.inputs.size()));
    if (node.outputs.size() != op->outputs.size())
      throw GraphError(node.op + " '" + node.name + "': has " + std::to_string(op->outputs.size()) +
                       " outputs, got " + std::to_string(node.outputs.size()));
    NodeInfo& info = g.nodes[n];
    info.name = node.name;
    info.op = op;
    info.attrs = normalize_attrs(*op, node.name, node.attrs);
    for (const std::string& out : node.outputs)
      info.outputs.push_back(add_value({out, ValueRole::Intermediate, {}, static_cast<int>(n), {}}, where));
  }
  // Inputs, then every value's consumers as ranges of one array (counted, then filled in
  // node order: one entry per use).
  std::vector<std::uint32_t> uses(g.values.size(), 0);
  std::size_t total_uses = 0;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    g.nodes[n].inputs.reserve(node.inputs.size());
    for (const std::string& in : node.inputs) {
      const int v = g.find_value(in);
      if (v < 0)
        throw GraphError(node.op + " '" + node.name + "': input '" + in + "' is not a value of the graph");
      g.nodes[n].inputs.push_back(v);
      ++uses[static_cast<std::size_t>(v)];
      ++total_uses;
    }
  }
  std::uint32_t begin = 0;
  for (std::size_t v = 0; v < g.values.size(); ++v) {
    g.values[v].consumers = {begin, 0};
    begin += uses[v];
  }
  g.consumer_ids.resize(total_uses);
  for (std::size_t n = 0; n < g.nodes.size(); ++n)
    for (int v : g.nodes[n].inputs) {
      IdRange& r = g.values[static_cast<std::size_t>(v)].consumers;
      g.consumer_ids[r.begin + r.size++] = static_cast<int>(n);
    }
  for (const std::string& out : graph.outputs) g.outputs.push_back(g.require_value(out, "graph output"));
  return g;
}

}  // namespace plangrad
