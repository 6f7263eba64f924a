#include "serialization/model_summary.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <vector>

#include "planner/passes.hpp"

namespace plangrad {

namespace {
std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string dot_quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  return out + "\"";
}
}  // namespace

std::map<std::string, Shape> symbolic_shapes(const Graph& graph) {
  const IndexedGraph g = index_graph(graph);
  const std::vector<Shape> shapes = symbolic_shapes(g, toposort(g));
  std::map<std::string, Shape> out;
  for (std::size_t v = 0; v < g.values.size(); ++v) out[g.values[v].name] = shapes[v];
  return out;
}

std::vector<std::string> default_inference_outputs(const Graph& graph, const std::map<std::string, Shape>& shapes) {
  std::vector<std::string> outputs;
  for (const std::string& out : graph.outputs) {
    const auto it = shapes.find(out);
    if (it != shapes.end() && !it->second.empty()) outputs.push_back(out);
  }
  return outputs.empty() ? graph.outputs : outputs;
}

std::string model_table(const Model& model) {
  const IndexedGraph g = index_graph(model.graph);
  const std::vector<int> order = toposort(g);
  const std::vector<Shape> shapes = symbolic_shapes(g, order);

  struct Row { std::string name, op, shapes, params; };
  std::vector<Row> rows{{"node", "op", "output shapes", "params"}};
  for (int n : order) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    std::string out;
    for (int v : node.outputs) out += (out.empty() ? "" : ", ") + shape_str(shapes[static_cast<std::size_t>(v)]);
    std::set<int> params;
    for (int v : node.inputs)
      if (g.values[static_cast<std::size_t>(v)].role == ValueRole::Parameter) params.insert(v);
    std::size_t count = 0;
    for (int v : params) count += numel(g.values[static_cast<std::size_t>(v)].declared);
    rows.push_back({node.name, node.op->name, out, std::to_string(count)});
  }
  std::size_t w[3] = {0, 0, 0};
  for (const Row& r : rows) {
    w[0] = std::max(w[0], r.name.size());
    w[1] = std::max(w[1], r.op.size());
    w[2] = std::max(w[2], r.shapes.size());
  }
  std::string s;
  for (const Row& r : rows)
    s += pad(r.name, w[0] + 2) + pad(r.op, w[1] + 2) + pad(r.shapes, w[2] + 2) + r.params + "\n";

  std::string inputs;
  std::size_t state = 0;
  for (const ValueInfo& v : g.values) {
    if (v.role == ValueRole::Input) inputs += (inputs.empty() ? "" : ", ") + v.name + " " + shape_str(v.declared);
    if (v.role == ValueRole::State) state += numel(v.declared);
  }
  std::string outputs;
  for (const std::string& o : model.graph.outputs) outputs += (outputs.empty() ? "" : ", ") + o;
  const std::size_t params = model.parameter_count();
  s += "\ninputs:     " + (inputs.empty() ? std::string("none") : inputs) + "\n";
  s += "outputs:    " + (outputs.empty() ? std::string("none") : outputs) + "\n";
  s += "nodes:      " + std::to_string(g.nodes.size()) + "\n";
  s += "parameters: " + std::to_string(params) + " in " + std::to_string(model.parameters.size()) +
       " tensors, " + std::to_string(params * sizeof(float)) + " bytes\n";
  s += "state:      " + std::to_string(state) + " in " + std::to_string(model.state.size()) +
       " tensors, " + std::to_string(state * sizeof(float)) + " bytes\n";
  return s;
}

std::string model_dot(const Model& model) {
  const IndexedGraph g = index_graph(model.graph);
  const std::vector<int> order = toposort(g);
  const std::vector<Shape> shapes = symbolic_shapes(g, order);
  auto value_id = [](const std::string& name) { return dot_quoted("value:" + name); };
  auto node_id = [](const std::string& name) { return dot_quoted("node:" + name); };

  std::string s = "digraph plangrad {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
                  "  edge [fontname=\"Helvetica\", fontsize=9];\n";
  for (const ValueInfo& v : g.values) {
    const char* style = nullptr;
    switch (v.role) {
      case ValueRole::Input: style = "shape=invhouse, style=filled, fillcolor=\"#dbe9f6\""; break;
      case ValueRole::Parameter: style = "shape=box, style=\"rounded,filled\", fillcolor=\"#fdf1d6\""; break;
      case ValueRole::State: style = "shape=cylinder, style=filled, fillcolor=\"#e4e4e4\""; break;
      case ValueRole::Intermediate: break;
    }
    if (style)
      s += "  " + value_id(v.name) + " [label=" + dot_quoted(v.name + "\n" + shape_str(v.declared)) + ", " +
           style + "];\n";
  }
  for (int n : order) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    s += "  " + node_id(node.name) + " [label=" + dot_quoted(node.op->name + "\n" + node.name) + ", shape=ellipse];\n";
  }
  auto source = [&](int v) {
    const ValueInfo& info = g.values[static_cast<std::size_t>(v)];
    return info.role == ValueRole::Intermediate ? node_id(g.nodes[static_cast<std::size_t>(info.producer)].name)
                                                : value_id(info.name);
  };
  for (int n : order) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    for (int v : node.inputs)
      s += "  " + source(v) + " -> " + node_id(node.name) + " [label=" +
           dot_quoted(shape_str(shapes[static_cast<std::size_t>(v)])) + "];\n";
  }
  for (int v : g.outputs) {
    const std::string name = g.values[static_cast<std::size_t>(v)].name;
    s += "  " + dot_quoted("output:" + name) + " [label=" + dot_quoted(name) + ", shape=house, style=filled, fillcolor=\"#dff0d8\"];\n";
    s += "  " + source(v) + " -> " + dot_quoted("output:" + name) + " [label=" +
         dot_quoted(shape_str(shapes[static_cast<std::size_t>(v)])) + "];\n";
  }
  return s + "}\n";
}

}  // namespace plangrad
