// The JSON model format's writer: deterministic and exact (docs/model-format.md).
#include <charconv>
#include <cmath>
#include <map>
#include <string_view>

#include "core/atomic_file.hpp"
#include "core/errors.hpp"
#include "serialization/checkpoint_json.hpp"

namespace plangrad {

using nlohmann::json;

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

std::string tensors_json(const std::map<std::string, Tensor<float>>& tensors, const char* what) {
  std::vector<std::string> items;
  for (const auto& [name, t] : tensors) {
    std::string s = quoted(name) + ": {\"shape\": " +
                    dims_json(t.shape()) +
                    ", \"dtype\": \"float32\", \"data\": [";
    s.reserve(s.size() + t.size() * 16);
    const float* data = t.data();
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

std::string model_to_json(const Model& model, const json& training) { return write_document(model, training); }

std::string model_to_json(const ModelDocument& document) {
  return write_document(document.model, training_json(document.training, "ModelDocument::training"));
}

std::string model_to_json(const Model& model) { return write_document(model, json()); }

void save_model_document(const Model& model, const json& training, const std::string& path) {
  write_file_atomically(path, write_document(model, training));
}

void save_model_document(const ModelDocument& document, const std::string& path) {
  write_file_atomically(path, model_to_json(document));
}

void save_model(const Model& model, const std::string& path) { write_file_atomically(path, model_to_json(model)); }

}  // namespace plangrad
