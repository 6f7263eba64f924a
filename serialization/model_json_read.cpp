// The JSON model format's strict reader (docs/model-format.md). The document is decoded
// into a Graph and its data, every problem named by its JSON path; whether the graph is
// valid (names, arities, attributes, references, cycles, shapes) is for the planner's
// passes to say, their errors placed at the path of the graph or of the failing node.
#include <cmath>
#include <exception>
#include <limits>
#include <map>

#include "core/activity.hpp"
#include "core/errors.hpp"
#include "core/file_io.hpp"
#include "core/limits.hpp"
#include "ops/op.hpp"
#include "planner/passes.hpp"
#include "serialization/json_reader.hpp"
#include "serialization/checkpoint_json.hpp"

namespace plangrad {
namespace {

using nlohmann::json;

// A shape's element count (with a symbolic batch counted as 1) is checked as it is read:
// it must neither wrap nor pass limits().tensor_elements.
Shape read_shape(const JsonReader& r, bool allow_batch) {
  const json& j = r.array().value();
  Shape s;
  std::uint64_t elements = 1;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const JsonReader d = r.element(i);
    if (j[i].is_null() || (j[i].is_string() && j[i].get_ref<const std::string&>() == "N")) {
      if (!allow_batch) d.fail("only a graph input may have a symbolic batch dimension");
      s.push_back(kBatchDim);
      continue;
    }
    if (j[i].is_string()) d.fail("expected a dimension (an integer, or \"N\" for the batch)");
    const std::int64_t v = d.integer();
    if (v < 0) d.fail("negative dimension " + std::to_string(v));
    if (__builtin_mul_overflow(elements, static_cast<std::uint64_t>(v), &elements) ||
        elements > limits().tensor_elements)
      r.fail("shape has more elements than " + limit_hint("tensor-elements", limits().tensor_elements));
    s.push_back(v);
  }
  return s;
}

// The op's schema gives the type: a JSON integer is a Float where the op wants one.
AttrValue read_attribute(const JsonReader& r, AttrType type) {
  const json& j = r.value();
  switch (type) {
    case AttrType::Int:
      return r.integer();
    case AttrType::Float: {
      const double v = r.number();
      if (!std::isfinite(v)) r.fail("number is not finite");
      return v;
    }
    case AttrType::String:
      return r.string();
    case AttrType::Ints: {
      if (!j.is_array()) r.fail(std::string("expected a list of integers, got ") + json_type(j));
      std::vector<std::int64_t> v;
      for (std::size_t i = 0; i < j.size(); ++i) {
        if (!j[i].is_number_integer()) r.fail("expected a list of integers");
        v.push_back(r.element(i).integer());
      }
      return v;
    }
  }
  r.fail("unknown attribute type");
}

// A declared parameter or state value: its kind, shape and where the shape is declared.
struct Decl {
  ValueKind kind;
  Shape shape;
  std::string path;
};

// A value or node name: a string no longer than limits().name_length.
const std::string& read_name(const JsonReader& r) {
  const std::string& name = r.string();
  if (name.size() > limits().name_length)
    r.fail("a name of " + std::to_string(name.size()) + " bytes, longer than " +
           limit_hint("name-length", limits().name_length));
  return name;
}

Node read_node(const JsonReader& e) {
  e.only_keys({"name", "op", "inputs", "outputs", "attrs"});
  Node node;
  node.name = read_name(e.member("name"));
  const JsonReader op_name = e.member("op");
  node.op = op_name.string();
  // The op's attribute schema is what decodes the attributes.
  const OpDef* op = lookup_op(node.op);
  if (!op) op_name.fail("unknown op '" + node.op + "'");
  for (const auto& [key, names] : {std::pair<const char*, std::vector<std::string>*>{"inputs", &node.inputs},
                                   {"outputs", &node.outputs}}) {
    const JsonReader list = e.member(key);
    for (std::size_t i = 0; i < list.size(); ++i) names->push_back(read_name(list.element(i)));
  }
  if (const std::optional<JsonReader> attrs = e.find("attrs")) {
    attrs->for_each_member([&](const std::string& name, const JsonReader& value) {
      const AttrSpec* spec = nullptr;
      for (const AttrSpec& s : op->attrs)
        if (s.name == name) spec = &s;
      if (!spec) {
        std::string known;
        for (const AttrSpec& s : op->attrs) known += (known.empty() ? "" : ", ") + s.name;
        value.fail("unknown attribute '" + name + "' of op '" + node.op + "' (it has " +
                   (known.empty() ? std::string("none") : known) + ")");
      }
      node.attrs.set(name, read_attribute(value, spec->type));
    });
  }
  return node;
}

Graph read_graph(const JsonReader& jg, std::map<std::string, Decl>& decls) {
  jg.only_keys({"inputs", "parameters", "state", "nodes", "outputs"});
  Graph graph;
  const std::pair<const char*, ValueKind> kinds[] = {
      {"inputs", ValueKind::Input}, {"parameters", ValueKind::Parameter}, {"state", ValueKind::State}};
  for (const auto& [key, kind] : kinds) {
    const std::optional<JsonReader> list = kind == ValueKind::State ? jg.find(key) : jg.member(key);
    if (!list) continue;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const JsonReader e = list->element(i);
      e.only_keys({"name", "shape"});
      const std::string& name = read_name(e.member("name"));
      const JsonReader shape = e.member("shape");
      ValueDecl& v = graph.values.emplace_back(ValueDecl{name, kind, read_shape(shape, kind == ValueKind::Input)});
      decls.emplace(name, Decl{kind, v.shape, shape.path()});
    }
  }
  const JsonReader nodes = jg.member("nodes");
  if (nodes.size() > limits().nodes)
    nodes.fail(std::to_string(nodes.size()) + " nodes, more than " + limit_hint("nodes", limits().nodes));
  for (std::size_t n = 0; n < nodes.size(); ++n) graph.nodes.push_back(read_node(nodes.element(n)));
  const JsonReader outputs = jg.member("outputs");
  for (std::size_t i = 0; i < outputs.size(); ++i) graph.outputs.push_back(outputs.element(i).string());
  return graph;
}

Tensor<float> read_tensor(const JsonReader& r, const Decl& decl) {
  r.only_keys({"shape", "dtype", "data"});
  const JsonReader shape = r.member("shape");
  const Shape s = read_shape(shape, false);
  if (s != decl.shape)
    shape.fail("shape " + shape_str(s) + " differs from the declaration " + shape_str(decl.shape) + " at " + decl.path);
  const JsonReader dtype = r.member("dtype");
  if (dtype.string() != "float32") dtype.fail("unsupported dtype \"" + dtype.string() + "\" (expected \"float32\")");
  const JsonReader data = r.member("data");
  const json& values = data.array().value();
  const std::size_t n = numel(s);
  if (values.size() != n)
    data.fail(std::to_string(values.size()) + " values for shape " + shape_str(s) + " (" + std::to_string(n) +
              " expected)");
  Tensor<float> t(s);
  float* out = t.data();
  constexpr double kMax = static_cast<double>(std::numeric_limits<float>::max());
  for (std::size_t i = 0; i < n; ++i) {
    const json& v = values[i];
    if (!v.is_number()) data.element(i).fail(std::string("expected a number, got ") + json_type(v));
    const double d = v.get<double>();
    if (!(std::fabs(d) <= kMax)) data.element(i).fail("value " + v.dump() + " does not fit a float32");
    out[i] = static_cast<float>(d);
  }
  return t;
}

// The planner's GraphError or ShapeError, with the source and a JSON path in front.
[[noreturn]] void rethrow_at(const std::string& source, const std::string& path, const std::exception_ptr& error) {
  const std::string where = source + ": " + (path.empty() ? "/" : path) + ": ";
  try {
    std::rethrow_exception(error);
  } catch (const ShapeError& e) {
    throw ShapeError(where + e.what());
  } catch (const GraphError& e) {
    throw GraphError(where + e.what());
  }
}

template <class F>
auto at_path(const std::string& source, const std::string& path, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error&) {
    rethrow_at(source, path, std::current_exception());
  }
}

// The planner's passes on the graph: index_graph (names, ops, arities, attributes,
// references), toposort (cycles) and symbolic_shapes (every node's shapes, at both
// nominal batch sizes as the builder and the summaries infer them).
void check_graph(const Graph& graph, const std::string& source) {
  const IndexedGraph g = at_path(source, "/graph", [&] { return index_graph(graph); });
  const std::vector<int> order = at_path(source, "/graph/nodes", [&] { return toposort(g); });
  std::exception_ptr error;
  try {
    (void)symbolic_shapes(g, order);
    return;
  } catch (const Error&) {
    error = std::current_exception();
  }
  // Shapes are inferred along `order`, each node's from those before it, so a prefix of
  // `order` fails exactly when it holds a failing node: the shortest failing prefix ends
  // at the node to name. Its index in g.nodes is its index in the document.
  std::size_t passes = 0, fails = order.size();
  while (fails - passes > 1) {
    const std::size_t mid = passes + (fails - passes) / 2;
    try {
      (void)symbolic_shapes(g, std::vector<int>(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(mid)));
      passes = mid;
    } catch (const Error&) {
      fails = mid;
      error = std::current_exception();
    }
  }
  rethrow_at(source, "/graph/nodes/" + std::to_string(order[fails - 1]), error);
}

JsonModelDocument read_document(const JsonReader& root) {
  root.object();
  const JsonReader format = root.member("format");
  if (format.string() != kModelFormatName)
    format.fail("expected \"" + std::string(kModelFormatName) + "\", got \"" + format.string() + "\"");
  const JsonReader version_field = root.member("version");
  const std::int64_t version = version_field.integer();
  if (version > kModelFormatVersion)
    version_field.fail("the document is format version " + std::to_string(version) + ", newer than version " +
                       std::to_string(kModelFormatVersion) +
                       ", the newest this plangrad reads; upgrade plangrad to load it");
  if (version < 1) version_field.fail("unsupported format version " + std::to_string(version));
  root.only_keys({"format", "version", "graph", "parameters", "state", "training"});

  JsonModelDocument doc;
  std::map<std::string, Decl> decls;
  doc.model.graph = read_graph(root.member("graph").object(), decls);
  check_graph(doc.model.graph, root.source());

  // Every declared parameter and state value has exactly one tensor, of its declared shape.
  static const json kNone = json::object();
  const std::pair<const char*, ValueKind> stores[] = {{"parameters", ValueKind::Parameter},
                                                      {"state", ValueKind::State}};
  for (const auto& store_entry : stores) {
    // Not a structured binding: C++17 lambdas cannot capture those (clang refuses).
    const char* const key = store_entry.first;
    const ValueKind kind = store_entry.second;
    const std::optional<JsonReader> found = kind == ValueKind::Parameter ? root.member(key) : root.find(key);
    const JsonReader store = found ? *found : JsonReader(kNone, root.source(), "/state");
    auto& tensors = kind == ValueKind::Parameter ? doc.model.parameters : doc.model.state;
    store.for_each_member([&](const std::string& name, const JsonReader& t) {
      const auto d = decls.find(name);
      if (d == decls.end() || d->second.kind != kind)
        t.fail(std::string(kind_name(kind)) + " '" + name + "' is not declared in /graph/" + key);
      tensors.emplace(name, read_tensor(t, d->second));
    });
    for (const auto& [name, d] : decls)
      if (d.kind == kind && !tensors.count(name))
        store.fail("no data for " + std::string(kind_name(kind)) + " '" + name + "' declared at " +
                   d.path.substr(0, d.path.size() - std::string("/shape").size()));
  }

  // Data that parses but means nothing to the op reading it (a negative running variance).
  for (const Node& node : doc.model.graph.nodes) {
    const OpDef& op = find_op(node.op);  // index_graph checked that it exists
    if (!op.check_data) continue;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const auto d = decls.find(node.inputs[i]);
      if (d == decls.end() || d->second.kind == ValueKind::Input) continue;  // data, not the file's
      const bool param = d->second.kind == ValueKind::Parameter;
      const Tensor<float>& t = param ? doc.model.parameters.at(node.inputs[i]) : doc.model.state.at(node.inputs[i]);
      const std::string problem = op.check_data(i, t.data(), t.size());
      if (!problem.empty())
        throw FormatError(root.source() + ": /" + (param ? "parameters/" : "state/") + json_pointer_token(node.inputs[i]) +
                          ": " + node.op + " '" + node.name + "' cannot use it: " + problem);
    }
  }
  if (const std::optional<JsonReader> training = root.find("training")) doc.training = training->object().value();
  at_path(root.source(), "", [&] { doc.model.check(); });
  return doc;
}

std::string read_text_file(const std::string& path) {
  const Activity activity("reading model file '" + path + "'");
  return read_regular_file(path, "model file", limits().model_file_bytes, "model-file-bytes");
}

}  // namespace

JsonModelDocument json_model_document_from_json(const std::string& text, const std::string& source_name) {
  const Activity activity("loading model '" + source_name + "'");
  const json root = parse_json(text, source_name);
  return read_document(JsonReader(root, source_name));
}

JsonModelDocument load_json_model_document(const std::string& path) {
  return json_model_document_from_json(read_text_file(path), path);
}

ModelDocument model_document_from_json(const std::string& text, const std::string& source_name) {
  JsonModelDocument doc = json_model_document_from_json(text, source_name);
  return {std::move(doc.model), training_text(doc.training)};
}

json training_json(const std::string& text, const std::string& source_name) {
  if (text.empty()) return json();
  json training = parse_json(text, source_name);
  JsonReader(training, source_name, "/training").object();
  return training;
}

std::string training_text(const json& training) { return training.is_null() ? std::string() : training.dump(); }

Model model_from_json(const std::string& text, const std::string& source_name) {
  return std::move(json_model_document_from_json(text, source_name).model);
}

ModelDocument load_model_document(const std::string& path) {
  return model_document_from_json(read_text_file(path), path);
}

Model load_model(const std::string& path) { return std::move(load_json_model_document(path).model); }

}  // namespace plangrad
