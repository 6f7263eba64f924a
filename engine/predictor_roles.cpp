#include "engine/predictor_roles.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/checked.hpp"
#include "core/errors.hpp"
#include "planner/passes.hpp"

namespace plangrad {
namespace {

std::string quoted_with_shape(const std::string& name, const Shape& shape) {
  return "'" + name + "' " + shape_str(shape);
}

std::string listed(const std::vector<std::string>& items) {
  if (items.empty()) return "none";
  std::string s;
  for (const std::string& item : items) s += (s.empty() ? "" : ", ") + item;
  return s;
}

// The graph's values and what the Predictor needs to know of them: each value's shape at
// both nominal batch sizes and the inputs it is computed from.
struct GraphFacts {
  IndexedGraph g;
  std::vector<Shape> at[2];  // infer_shapes at kNominalBatches[0] and [1]

  explicit GraphFacts(const Graph& graph) : g(index_graph(graph)) {
    const std::vector<int> order = toposort(g);
    for (int k = 0; k < 2; ++k) at[k] = infer_shapes(g, order, kNominalBatches[k]);
  }

  const std::string& name(int v) const { return g.values[static_cast<std::size_t>(v)].name; }
  // The shape with the batch left symbolic, for messages.
  Shape symbolic(int v) const {
    return mark_batch_dims(at[0][static_cast<std::size_t>(v)], at[1][static_cast<std::size_t>(v)]);
  }
  std::string described(int v) const { return quoted_with_shape(name(v), symbolic(v)); }

  // [N, ...]: the first dimension the batch at both sizes, the others the same at both.
  bool per_example(int v) const {
    const Shape& a = at[0][static_cast<std::size_t>(v)];
    const Shape& b = at[1][static_cast<std::size_t>(v)];
    return !a.empty() && a.size() == b.size() && a[0] == kNominalBatches[0] && b[0] == kNominalBatches[1] &&
           std::equal(a.begin() + 1, a.end(), b.begin() + 1);
  }

  // The graph inputs v is computed from (v itself when it is one), in value order.
  std::vector<int> inputs_of(int v) const {
    std::vector<char> seen(g.values.size(), 0);
    std::vector<int> stack{v}, found;
    while (!stack.empty()) {
      const int u = stack.back();
      stack.pop_back();
      if (seen[static_cast<std::size_t>(u)]) continue;
      seen[static_cast<std::size_t>(u)] = 1;
      const ValueInfo& info = g.values[static_cast<std::size_t>(u)];
      if (info.role == ValueRole::Input) found.push_back(u);
      if (info.producer >= 0)
        for (int in : g.nodes[static_cast<std::size_t>(info.producer)].inputs) stack.push_back(in);
    }
    std::sort(found.begin(), found.end());
    return found;
  }

  std::string inputs_described(const std::vector<int>& inputs) const {
    std::vector<std::string> s;
    for (int v : inputs) s.push_back("'" + name(v) + "'");
    return listed(s);
  }
};

// Whether `name` names a declared value, a node or a node's output in `graph`.
bool taken(const Graph& graph, const std::string& name) {
  if (graph.find_value(name) || graph.find_node(name)) return true;
  for (const Node& node : graph.nodes)
    if (std::find(node.outputs.begin(), node.outputs.end(), name) != node.outputs.end()) return true;
  return false;
}

}  // namespace

PredictorRoles predictor_roles(const Graph& graph, const PredictorOptions& options) {
  PredictorRoles r;
  const GraphFacts facts(graph);

  int in = -1;
  if (!options.input.empty()) {
    in = facts.g.find_value(options.input);
    if (in < 0 || facts.g.values[static_cast<std::size_t>(in)].role != ValueRole::Input)
      throw UsageError("Predictor: '" + options.input + "' is not an input of the graph");
  }
  // The output depends on the input, and on no other: Predictor feeds one input.
  const auto fed_by_input = [&](int v) {
    const std::vector<int> inputs = facts.inputs_of(v);
    return inputs.size() == 1 && (in < 0 || inputs.front() == in);
  };

  int out = -1;
  if (!options.output.empty()) {
    out = facts.g.find_value(options.output);
    if (out < 0) throw UsageError("Predictor: the graph has no value '" + options.output + "'");
    if (facts.g.values[static_cast<std::size_t>(out)].producer < 0)
      throw UsageError("Predictor: the output '" + options.output + "' is not computed by a node");
    if (!facts.per_example(out))
      throw UsageError("Predictor: the output " + facts.described(out) +
                       " is not per example (its first dimension must be the batch N)");
    const std::vector<int> inputs = facts.inputs_of(out);
    if (!fed_by_input(out))
      throw UsageError("Predictor: the output '" + options.output + "' is computed from the inputs " +
                       facts.inputs_described(inputs) +
                       (in < 0 ? "; a Predictor feeds exactly one" : ", not from '" + options.input + "' alone"));
  } else {
    std::vector<int> candidates;
    std::vector<std::string> outputs;
    for (const std::string& name : graph.outputs) {
      const int v = facts.g.require_value(name, "graph output");
      outputs.push_back(facts.described(v));
      if (facts.per_example(v) && facts.g.values[static_cast<std::size_t>(v)].producer >= 0 && fed_by_input(v))
        candidates.push_back(v);
    }
    if (candidates.size() != 1) {
      std::vector<std::string> named;
      for (int v : candidates) named.push_back(facts.described(v));
      const std::string from = in < 0 ? "one input alone" : "'" + options.input + "' alone";
      throw UsageError(std::string("Predictor: ") +
                       (candidates.empty() ? "no graph output is" : "several graph outputs are") +
                       " per example ([N, ...]) and computed from " + from + ": " +
                       (candidates.empty() ? "the graph's outputs are " + listed(outputs) : listed(named)) +
                       "; name the output (PredictorOptions::output)");
    }
    out = candidates.front();
  }
  if (in < 0) in = facts.inputs_of(out).front();

  r.input = facts.name(in);
  r.output = facts.name(out);
  const Shape& declared = facts.g.values[static_cast<std::size_t>(in)].declared;
  if (declared.empty() || declared[0] != kBatchDim ||
      std::find(declared.begin() + 1, declared.end(), kBatchDim) != declared.end())
    throw UsageError("Predictor: the input " + quoted_with_shape(r.input, declared) +
                     " must be [N, ...] with the batch N first and nowhere else");
  r.input_size = 1;
  for (std::size_t d = 1; d < declared.size(); ++d)
    r.input_size = mul_sizes(r.input_size, static_cast<std::size_t>(declared[d]));
  if (r.input_size == 0)
    throw UsageError("Predictor: the input " + quoted_with_shape(r.input, declared) + " has no values per example");
  const Shape& out_shape = facts.at[0][static_cast<std::size_t>(out)];
  r.output_size = 1;
  for (std::size_t d = 1; d < out_shape.size(); ++d)
    r.output_size = mul_sizes(r.output_size, static_cast<std::size_t>(out_shape[d]));

  if (out_shape.size() == 2 && out_shape[1] >= 1) r.columns = static_cast<std::size_t>(out_shape[1]);
  return r;
}

Graph with_probabilities(const Graph& graph, const PredictorRoles& roles, std::string* value) {
  Graph g = graph;
  Node node;
  node.name = roles.output + ".probabilities";
  for (int k = 2; taken(graph, node.name); ++k) node.name = roles.output + ".probabilities_" + std::to_string(k);
  node.op = roles.columns == 1 ? "sigmoid" : "softmax";
  node.inputs = {roles.output};
  node.outputs = {node.name};
  *value = node.name;
  g.nodes.push_back(std::move(node));
  g.outputs = {*value};
  return g;
}

}  // namespace plangrad
