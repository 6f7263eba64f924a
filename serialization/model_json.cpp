// The JSON model format: a deterministic writer and a strict reader. The layout is
// documented, with an example the tests load, in docs/model-format.md.
#include "serialization/model_json.hpp"


#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <system_error>

#include "core/atomic_file.hpp"
#include "core/errors.hpp"
#include "ops/op.hpp"
#include "planner/passes.hpp"

namespace plangrad {

using nlohmann::json;

std::string json_pointer_token(const std::string& key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

// ---- writing ---------------------------------------------------------------------------

namespace {

std::string quoted(const std::string& s) { return json(s).dump(); }

// The shortest decimal that reads back as exactly `v`; always with a '.' or an exponent,
// so that a float attribute stays a float when read back.
void append_double(std::string& out, double v) {
  char buf[40];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string_view s(buf, static_cast<std::size_t>(res.ptr - buf));
  out += s;
  if (s.find_first_of(".e") == std::string_view::npos) out += ".0";
}

std::string dims_json(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += shape[i] == kBatchDim ? std::string("\"N\"") : std::to_string(shape[i]);
  }
  return s + "]";
}

std::string strings_json(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + quoted(v[i]);
  return s + "]";
}

std::string attr_json(const AttrValue& value) {
  std::string s;
  if (auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&value)) {
    if (!std::isfinite(*d)) throw FormatError("a float attribute is not finite: JSON cannot hold it");
    append_double(s, *d);
    return s;
  }
  if (auto* str = std::get_if<std::string>(&value)) return quoted(*str);
  const auto& ints = std::get<std::vector<std::int64_t>>(value);
  s = "[";
  for (std::size_t i = 0; i < ints.size(); ++i) s += (i ? ", " : "") + std::to_string(ints[i]);
  return s + "]";
}

// A list of lines inside brackets, one item per line at `indent`.
std::string block(const std::vector<std::string>& items, char open, char close,
                  const std::string& indent) {
  if (items.empty()) return std::string{open, close};
  std::string s(1, open);
  for (std::size_t i = 0; i < items.size(); ++i)
    s += "\n" + indent + "  " + items[i] + (i + 1 < items.size() ? "," : "");
  return s + "\n" + indent + close;
}

std::string decls_json(const Graph& g, ValueKind kind) {
  std::vector<std::string> items;
  for (const ValueDecl& v : g.values)
    if (v.kind == kind)
      items.push_back("{\"name\": " + quoted(v.name) + ", \"shape\": " + dims_json(v.shape) + "}");
  return block(items, '[', ']', "    ");
}

std::string tensors_json(const std::map<std::string, xt::xarray<float>>& tensors, const char* what) {
  std::vector<std::string> items;
  for (const auto& [name, t] : tensors) {
    std::string s = quoted(name) + ": {\"shape\": " +
                    dims_json(Shape(t.shape().begin(), t.shape().end())) +
                    ", \"dtype\": \"float32\", \"data\": [";
    s.reserve(s.size() + t.size() * 16);
    const float* data = t.data();  // xarray storage is contiguous row-major
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (!std::isfinite(data[i]))
        throw FormatError(std::string(what) + " '" + name + "' holds a non-finite value at index " +
                          std::to_string(i) + ": JSON cannot hold it");
      if (i) s += ", ";
      append_double(s, static_cast<double>(data[i]));
    }
    items.push_back(s + "]}");
  }
  return block(items, '{', '}', "  ");
}

}  // namespace

namespace {

std::string write_document(const Model& m, const json& training) {
  const Graph& g = m.graph;
  try {
    std::vector<std::string> nodes;
    for (const Node& n : g.nodes) {
      std::string attrs = "{";
      bool first = true;
      for (const auto& [name, value] : n.attrs.items()) {
        attrs += (first ? "" : ", ") + quoted(name) + ": " + attr_json(value);
        first = false;
      }
      nodes.push_back("{\"name\": " + quoted(n.name) + ", \"op\": " + quoted(n.op) +
                      ", \"inputs\": " + strings_json(n.inputs) + ", \"outputs\": " +
                      strings_json(n.outputs) + ", \"attrs\": " + attrs + "}}");
    }
    std::string out = "{\n";
    out += "  \"format\": \"" + std::string(kModelFormatName) + "\",\n";
    out += "  \"version\": " + std::to_string(kModelFormatVersion) + ",\n";
    out += "  \"graph\": {\n";
    out += "    \"inputs\": " + decls_json(g, ValueKind::Input) + ",\n";
    out += "    \"parameters\": " + decls_json(g, ValueKind::Parameter) + ",\n";
    out += "    \"state\": " + decls_json(g, ValueKind::State) + ",\n";
    out += "    \"nodes\": " + block(nodes, '[', ']', "    ") + ",\n";
    out += "    \"outputs\": " + strings_json(g.outputs) + "\n";
    out += "  },\n";
    out += "  \"parameters\": " + tensors_json(m.parameters, "parameter") + ",\n";
    out += "  \"state\": " + tensors_json(m.state, "state tensor");
    if (!training.is_null()) {
      if (!training.is_object()) throw FormatError("\"training\" must be a JSON object");
      std::string t = training.dump(2);
      std::string indented;
      for (char c : t) {
        indented += c;
        if (c == '\n') indented += "  ";
      }
      out += ",\n  \"training\": " + indented;
    }
    out += "\n}\n";
    return out;
  } catch (const json::exception& e) {
    throw FormatError(std::string("cannot write the model as JSON: ") + e.what());
  }
}

}  // namespace

std::string model_to_json(const ModelDocument& document) {
  return write_document(document.model, document.training);
}

std::string model_to_json(const Model& model) { return write_document(model, json()); }

// ---- reading ---------------------------------------------------------------------------

namespace {

const char* json_type(const json& j) {
  if (j.is_number_integer()) return "an integer";
  if (j.is_number_float()) return "a number";
  if (j.is_string()) return "a string";
  if (j.is_array()) return "an array";
  if (j.is_object()) return "an object";
  if (j.is_boolean()) return "a boolean";
  return "null";
}

// Dimensions above this (and shapes with more elements) are refused: no real model is
// that large, and the element count must not overflow.
constexpr std::int64_t kMaxElements = std::int64_t{1} << 40;

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& message) const {
    throw FormatError(source_ + ": " + (path.empty() ? "/" : path) + ": " + message);
  }

  const json& object(const json& j, const std::string& path) const {
    if (!j.is_object()) fail(path, std::string("expected an object, got ") + json_type(j));
    return j;
  }
  const json& array(const json& j, const std::string& path) const {
    if (!j.is_array()) fail(path, std::string("expected an array, got ") + json_type(j));
    return j;
  }
  const std::string& string(const json& j, const std::string& path) const {
    if (!j.is_string()) fail(path, std::string("expected a string, got ") + json_type(j));
    return j.get_ref<const std::string&>();
  }
  const std::string& name(const json& j, const std::string& path) const {
    const std::string& s = string(j, path);
    if (s.empty()) fail(path, "a name must not be empty");
    return s;
  }
  std::int64_t integer(const json& j, const std::string& path) const {
    if (j.is_number_unsigned()) {
      if (j.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail(path, "integer out of range");
      return static_cast<std::int64_t>(j.get<std::uint64_t>());
    }
    if (!j.is_number_integer()) fail(path, std::string("expected an integer, got ") + json_type(j));
    return j.get<std::int64_t>();
  }

  // The member `key` of an object (the object checked by the caller).
  const json& member(const json& obj, const std::string& path, const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end()) fail(path, std::string("missing key \"") + key + "\"");
    return *it;
  }
  const json* optional(const json& obj, const char* key) const {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }
  void only_keys(const json& obj, const std::string& path,
                 std::initializer_list<const char*> allowed) const {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      bool ok = false;
      for (const char* a : allowed) ok = ok || it.key() == a;
      if (!ok) fail(path + "/" + json_pointer_token(it.key()), "unknown key \"" + it.key() + "\"");
    }
  }

  Shape shape(const json& j, const std::string& path, bool allow_batch) const {
    array(j, path);
    Shape s;
    std::int64_t elements = 1;
    for (std::size_t i = 0; i < j.size(); ++i) {
      const std::string p = path + "/" + std::to_string(i);
      const json& d = j[i];
      if (d.is_null() || (d.is_string() && d.get_ref<const std::string&>() == "N")) {
        if (!allow_batch) fail(p, "only a graph input may have a symbolic batch dimension");
        s.push_back(kBatchDim);
        continue;
      }
      if (d.is_string()) fail(p, "expected a dimension (an integer, or \"N\" for the batch)");
      const std::int64_t v = integer(d, p);
      if (v < 0) fail(p, "negative dimension " + std::to_string(v));
      if (v > kMaxElements || (v > 0 && elements > kMaxElements / v))
        fail(path, "shape has too many elements");
      elements *= v;
      s.push_back(v);
    }
    return s;
  }

  AttrValue attribute(const json& j, const std::string& path, AttrType type) const {
    switch (type) {
      case AttrType::Int:
        if (!j.is_number_integer()) fail(path, std::string("expected an integer, got ") + json_type(j));
        return integer(j, path);
      case AttrType::Float: {
        if (!j.is_number()) fail(path, std::string("expected a number, got ") + json_type(j));
        const double v = j.get<double>();
        if (!std::isfinite(v)) fail(path, "number is not finite");
        return v;
      }
      case AttrType::String:
        return string(j, path);
      case AttrType::Ints: {
        if (!j.is_array()) fail(path, std::string("expected a list of integers, got ") + json_type(j));
        std::vector<std::int64_t> v;
        for (std::size_t i = 0; i < j.size(); ++i) {
          if (!j[i].is_number_integer()) fail(path, "expected a list of integers");
          v.push_back(integer(j[i], path + "/" + std::to_string(i)));
        }
        return v;
      }
    }
    fail(path, "unknown attribute type");
  }

  xt::xarray<float> tensor(const json& j, const std::string& path, const Shape& declared,
                           const std::string& decl_path) const {
    object(j, path);
    only_keys(j, path, {"shape", "dtype", "data"});
    const Shape s = shape(member(j, path, "shape"), path + "/shape", false);
    if (s != declared)
      fail(path + "/shape", "shape " + shape_str(s) + " differs from the declaration " +
                                shape_str(declared) + " at " + decl_path);
    const std::string& dtype = string(member(j, path, "dtype"), path + "/dtype");
    if (dtype != "float32") fail(path + "/dtype", "unsupported dtype \"" + dtype + "\" (expected \"float32\")");
    const json& data = array(member(j, path, "data"), path + "/data");
    const std::size_t n = numel(s);
    if (data.size() != n)
      fail(path + "/data", std::to_string(data.size()) + " values for shape " + shape_str(s) + " (" +
                               std::to_string(n) + " expected)");
    std::vector<std::size_t> xshape(s.begin(), s.end());
    xt::xarray<float> t = xt::xarray<float>::from_shape(xshape);
    float* out = t.data();
    constexpr double kMax = static_cast<double>(std::numeric_limits<float>::max());
    for (std::size_t i = 0; i < n; ++i) {
      const json& v = data[i];
      if (!v.is_number()) fail(path + "/data/" + std::to_string(i), std::string("expected a number, got ") + json_type(v));
      const double d = v.get<double>();
      if (!(std::fabs(d) <= kMax))
        fail(path + "/data/" + std::to_string(i), "value " + v.dump() + " does not fit a float32");
      out[i] = static_cast<float>(d);
    }
    return t;
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

struct Decl {
  ValueKind kind;
  Shape shape;
  std::string path;
};

// Runs a planner check, prefixing its error with the source and a JSON path.
template <class F>
auto planner_check(const Reader& r, const std::string& path, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const ShapeError& e) {
    throw ShapeError(r.source() + ": " + path + ": " + e.what());
  } catch (const GraphError& e) {
    throw GraphError(r.source() + ": " + path + ": " + e.what());
  }
}

ModelDocument read_document(const json& root, const Reader& r) {
  r.object(root, "");
  const std::string& format = r.string(r.member(root, "", "format"), "/format");
  if (format != kModelFormatName)
    r.fail("/format", "expected \"" + std::string(kModelFormatName) + "\", got \"" + format + "\"");
  const std::int64_t version = r.integer(r.member(root, "", "version"), "/version");
  if (version > kModelFormatVersion)
    r.fail("/version", "the document is format version " + std::to_string(version) +
                           ", newer than version " + std::to_string(kModelFormatVersion) +
                           ", the newest this plangrad reads; upgrade plangrad to load it");
  if (version < 1) r.fail("/version", "unsupported format version " + std::to_string(version));
  r.only_keys(root, "", {"format", "version", "graph", "parameters", "state", "training"});

  ModelDocument doc;
  Graph& graph = doc.model.graph;
  const json& jg = r.object(r.member(root, "", "graph"), "/graph");
  r.only_keys(jg, "/graph", {"inputs", "parameters", "state", "nodes", "outputs"});

  std::map<std::string, Decl> decls;          // declared values by name
  std::map<std::string, std::string> values;  // every value name -> where it is defined
  auto define = [&](const std::string& name, const std::string& path) {
    auto [it, fresh] = values.emplace(name, path);
    if (!fresh) r.fail(path, "duplicate value name '" + name + "' (first defined at " + it->second + ")");
  };

  const std::pair<const char*, ValueKind> kinds[] = {
      {"inputs", ValueKind::Input}, {"parameters", ValueKind::Parameter}, {"state", ValueKind::State}};
  for (const auto& [key, kind] : kinds) {
    const std::string base = std::string("/graph/") + key;
    const json* list = r.optional(jg, key);
    if (!list) {
      if (kind == ValueKind::State) continue;
      r.fail("/graph", std::string("missing key \"") + key + "\"");
    }
    r.array(*list, base);
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string p = base + "/" + std::to_string(i);
      const json& e = r.object((*list)[i], p);
      r.only_keys(e, p, {"name", "shape"});
      const std::string& name = r.name(r.member(e, p, "name"), p + "/name");
      Shape shape = r.shape(r.member(e, p, "shape"), p + "/shape", kind == ValueKind::Input);
      define(name, p + "/name");
      decls[name] = {kind, shape, p + "/shape"};
      graph.values.push_back({name, kind, std::move(shape)});
    }
  }

  const json& jnodes = r.array(r.member(jg, "/graph", "nodes"), "/graph/nodes");
  std::map<std::string, std::string> node_names;
  for (std::size_t n = 0; n < jnodes.size(); ++n) {
    const std::string p = "/graph/nodes/" + std::to_string(n);
    const json& e = r.object(jnodes[n], p);
    r.only_keys(e, p, {"name", "op", "inputs", "outputs", "attrs"});
    Node node;
    node.name = r.name(r.member(e, p, "name"), p + "/name");
    if (auto [it, fresh] = node_names.emplace(node.name, p + "/name"); !fresh)
      r.fail(p + "/name", "duplicate node name '" + node.name + "' (first at " + it->second + ")");
    node.op = r.string(r.member(e, p, "op"), p + "/op");
    const OpDef* op = lookup_op(node.op);
    if (!op) r.fail(p + "/op", "unknown op '" + node.op + "'");
    const std::pair<const char*, std::vector<std::string>*> lists[] = {{"inputs", &node.inputs},
                                                                       {"outputs", &node.outputs}};
    for (const auto& [key, dst] : lists) {
      const std::string lp = p + "/" + key;
      const json& l = r.array(r.member(e, p, key), lp);
      const auto& roles = std::string(key) == "inputs" ? op->inputs : op->outputs;
      if (l.size() != roles.size()) {
        std::string names;
        for (const std::string& role : roles) names += (names.empty() ? "" : ", ") + role;
        r.fail(lp, "op '" + node.op + "' has " + std::to_string(roles.size()) + " " + key + " (" +
                       names + "), got " + std::to_string(l.size()));
      }
      for (std::size_t i = 0; i < l.size(); ++i)
        dst->push_back(r.name(l[i], lp + "/" + std::to_string(i)));
    }
    for (std::size_t i = 0; i < node.outputs.size(); ++i)
      define(node.outputs[i], p + "/outputs/" + std::to_string(i));
    if (const json* attrs = r.optional(e, "attrs")) {
      r.object(*attrs, p + "/attrs");
      for (auto it = attrs->begin(); it != attrs->end(); ++it) {
        const std::string ap = p + "/attrs/" + json_pointer_token(it.key());
        const AttrSpec* spec = nullptr;
        for (const AttrSpec& s : op->attrs)
          if (s.name == it.key()) spec = &s;
        if (!spec) {
          std::string known;
          for (const AttrSpec& s : op->attrs) known += (known.empty() ? "" : ", ") + s.name;
          r.fail(ap, "unknown attribute '" + it.key() + "' of op '" + node.op + "' (it has " +
                         (known.empty() ? std::string("none") : known) + ")");
        }
        node.attrs.set(it.key(), r.attribute(it.value(), ap, spec->type));
      }
    }
    for (const AttrSpec& s : op->attrs)
      if (s.required && !node.attrs.has(s.name))
        r.fail(p + (r.optional(e, "attrs") ? "/attrs" : ""),
               "missing attribute '" + s.name + "' required by op '" + node.op + "'");
    graph.nodes.push_back(std::move(node));
  }
  for (std::size_t n = 0; n < graph.nodes.size(); ++n)
    for (std::size_t i = 0; i < graph.nodes[n].inputs.size(); ++i)
      if (!values.count(graph.nodes[n].inputs[i]))
        r.fail("/graph/nodes/" + std::to_string(n) + "/inputs/" + std::to_string(i),
               "'" + graph.nodes[n].inputs[i] + "' is not a value of the graph");

  const json& jout = r.array(r.member(jg, "/graph", "outputs"), "/graph/outputs");
  for (std::size_t i = 0; i < jout.size(); ++i) {
    const std::string p = "/graph/outputs/" + std::to_string(i);
    graph.outputs.push_back(r.name(jout[i], p));
    if (!values.count(graph.outputs.back()))
      r.fail(p, "'" + graph.outputs.back() + "' is not a value of the graph");
  }

  // Tensors: every declared parameter / state has exactly one entry, of its declared shape.
  const std::pair<const char*, ValueKind> stores[] = {{"parameters", ValueKind::Parameter},
                                                      {"state", ValueKind::State}};
  for (const auto& [key, kind] : stores) {
    const std::string base = std::string("/") + key;
    static const json kEmpty = json::object();
    const json* store = r.optional(root, key);
    if (!store) {
      if (kind == ValueKind::Parameter) r.fail("", "missing key \"parameters\"");
      store = &kEmpty;
    }
    r.object(*store, base);
    auto& dst = kind == ValueKind::Parameter ? doc.model.parameters : doc.model.state;
    for (auto it = store->begin(); it != store->end(); ++it) {
      const std::string p = base + "/" + json_pointer_token(it.key());
      auto d = decls.find(it.key());
      if (d == decls.end() || d->second.kind != kind)
        r.fail(p, std::string(kind_name(kind)) + " '" + it.key() + "' is not declared in /graph/" + key);
      dst.emplace(it.key(), r.tensor(it.value(), p, d->second.shape, d->second.path));
    }
    for (const auto& [name, d] : decls)
      if (d.kind == kind && !dst.count(name))
        r.fail(base, "no data for " + std::string(kind_name(kind)) + " '" + name + "' declared at " +
                         d.path.substr(0, d.path.size() - 6));
  }

  if (const json* training = r.optional(root, "training")) {
    r.object(*training, "/training");
    doc.training = *training;
  }

  // The planner's validation: names, arities, attributes, cycles and every node's shapes
  // with the symbolic batch bound to a nominal size.
  const IndexedGraph ig = planner_check(r, "/graph", [&] { return index_graph(graph); });
  const std::vector<int> order = planner_check(r, "/graph/nodes", [&] { return toposort(ig); });
  std::vector<Shape> shapes(ig.values.size());
  for (std::size_t v = 0; v < ig.values.size(); ++v) {
    if (ig.values[v].role == ValueRole::Intermediate) continue;
    shapes[v] = ig.values[v].declared;
    for (Dim& d : shapes[v])
      if (d == kBatchDim) d = 2;
  }
  for (int n : order) {
    const NodeInfo& node = ig.nodes[static_cast<std::size_t>(n)];
    std::vector<Shape> in;
    for (int v : ig.list(node.inputs)) in.push_back(shapes[static_cast<std::size_t>(v)]);
    std::vector<Shape> out = planner_check(r, "/graph/nodes/" + std::to_string(n), [&] {
      return infer_output_shapes(*node.op, node.name, in, ig.attrs(node));
    });
    for (std::size_t k = 0; k < out.size(); ++k)
      shapes[static_cast<std::size_t>(ig.list(node.outputs)[k])] = std::move(out[k]);
  }
  planner_check(r, "", [&] { doc.model.check(); });
  return doc;
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw DataError("cannot read model file '" + path + "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open model file '" + path + "': " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw DataError("cannot read model file '" + path + "'");
  return ss.str();
}

}  // namespace

ModelDocument model_document_from_json(const std::string& text, const std::string& source_name) {
  const Reader r(source_name);
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    throw FormatError(source_name + ": malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const json::exception& e) {
    throw FormatError(source_name + ": malformed JSON: " + e.what());
  }
  return read_document(root, r);
}

Model model_from_json(const std::string& text, const std::string& source_name) {
  return std::move(model_document_from_json(text, source_name).model);
}

ModelDocument load_model_document(const std::string& path) {
  return model_document_from_json(read_file(path), path);
}

Model load_model(const std::string& path) { return load_model_document(path).model; }

void save_model_document(const ModelDocument& document, const std::string& path) {
  write_file_atomically(path, model_to_json(document));
}

void save_model(const Model& model, const std::string& path) {
  write_file_atomically(path, model_to_json(model));
}

}  // namespace plangrad
