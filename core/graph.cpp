#include "core/graph.hpp"

#include <sstream>

#include "core/errors.hpp"

namespace plangrad {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += shape[i] == kBatchDim ? std::string("N") : std::to_string(shape[i]);
  }
  return s + "]";
}

void throw_bad_numel(const Shape& shape) {
  for (Dim d : shape)
    if (d < 0) throw ShapeError("shape " + shape_str(shape) + " has no element count: dimension " + std::to_string(d));
  throw ShapeError("shape " + shape_str(shape) + " has more elements than a 64-bit count holds");
}

const AttrValue* Attrs::find(std::string_view name) const {
  auto it = items_.find(name);
  return it == items_.end() ? nullptr : &it->second;
}

namespace {
template <class V>
const V& typed(const Attrs& attrs, std::string_view name, const char* type) {
  const AttrValue* v = attrs.find(name);
  if (!v) throw GraphError("missing attribute '" + std::string(name) + "'");
  if (const V* p = std::get_if<V>(v)) return *p;
  throw GraphError("attribute '" + std::string(name) + "' must be " + type + ", got " + attr_str(*v));
}
}  // namespace

std::int64_t Attrs::get_int(std::string_view name) const {
  return typed<std::int64_t>(*this, name, "an integer");
}
double Attrs::get_float(std::string_view name) const {
  const AttrValue* v = find(name);
  if (v) {
    if (const auto* i = std::get_if<std::int64_t>(v)) return static_cast<double>(*i);
  }
  return typed<double>(*this, name, "a number");
}
const std::string& Attrs::get_string(std::string_view name) const {
  return typed<std::string>(*this, name, "a string");
}
const std::vector<std::int64_t>& Attrs::get_ints(std::string_view name) const {
  return typed<std::vector<std::int64_t>>(*this, name, "a list of integers");
}

std::string attr_str(const AttrValue& value) {
  std::ostringstream os;
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    os << *i;
  } else if (const auto* d = std::get_if<double>(&value)) {
    os << *d;
  } else if (const auto* s = std::get_if<std::string>(&value)) {
    os << '"' << *s << '"';
  } else {
    os << shape_str(std::get<std::vector<std::int64_t>>(value));
  }
  return os.str();
}

const char* kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::Input: return "input";
    case ValueKind::Parameter: return "parameter";
    case ValueKind::State: return "state";
  }
  return "?";
}

const ValueDecl* Graph::find_value(std::string_view name) const {
  for (const auto& v : values)
    if (v.name == name) return &v;
  return nullptr;
}

const Node* Graph::find_node(std::string_view name) const {
  for (const auto& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

}  // namespace plangrad
