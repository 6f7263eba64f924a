// The Importer's helpers: inputs, outputs, attributes, names, declarations, and adding a
// plangrad node with its shapes inferred at once.
#include <cmath>

#include "core/errors.hpp"
#include "core/limits.hpp"
#include "ops/op.hpp"
#include "onnx/import.hpp"

namespace plangrad::onnx_import {

void Importer::begin_node(const onnx::NodeProto& node, const std::string& label, const std::set<std::string>* needed) {
  node_ = &node;
  label_ = label;
  needed_ = needed;
}

void Importer::fail(const std::string& what) const {
  throw FormatError(source_ + ": node '" + label_ + "' (" + node_->op_type() + ", opset " + std::to_string(opset_) +
                    "): " + what);
}

int Importer::inputs() const {
  int n = node_->input_size();
  while (n > 0 && node_->input(n - 1).empty()) --n;
  return n;
}

bool Importer::has_input(int i) const { return i < node_->input_size() && !node_->input(i).empty(); }

const Val& Importer::input(int i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is missing");
  const auto it = values_.find(node_->input(i));
  if (it == values_.end()) fail("input '" + node_->input(i) + "' is not a value of the graph");
  return it->second;
}

const Const& Importer::const_input(int i, const char* what) const {
  const Val& v = input(i);
  if (!v.constant)
    fail(std::string(what) + " '" + node_->input(i) + "' must be a constant (an initializer or a folded value)");
  return *v.constant;
}

std::string Importer::graph_input(int i, const char* what) {
  const Val& v = input(i);
  if (v.constant)
    fail(std::string(what) + " '" + node_->input(i) + "' is a constant; plangrad computes this op on graph values only");
  if (v.padded()) fail(std::string(what) + " '" + node_->input(i) + "' comes from a Pad, which plangrad takes only into a Conv or an AveragePool");
  return materialize(node_->input(i));
}

std::string Importer::materialize(const std::string& onnx_name) {
  const Val v = values_.at(onnx_name);
  if (v.shape == v.actual) return v.name;
  std::vector<std::int64_t> dims(v.shape.begin(), v.shape.end());
  dims[0] = -1;
  const std::string name = onnx_name + "/reshaped";
  const std::string out = add("reshape", {v.name}, {{"shape", dims}}, fresh(name), fresh_node(name));
  values_[onnx_name] = graph_val(out);
  return out;
}

void Importer::set_output(int i, Val v) {
  if (i >= node_->output_size() || node_->output(i).empty()) return;
  values_[node_->output(i)] = std::move(v);
}

void Importer::require_only_first_output() const {
  for (int i = 1; i < node_->output_size(); ++i)
    if (!node_->output(i).empty() && needed_ && needed_->count(node_->output(i)))
      fail("output " + std::to_string(i) + " '" + node_->output(i) +
           "' is read, but plangrad imports only this op's first output (inference)");
}

const onnx::AttributeProto* Importer::attr(const std::string& name) const {
  const onnx::AttributeProto* found = nullptr;
  for (const auto& a : node_->attribute())
    if (a.name() == name) {
      if (found) fail("attribute '" + name + "' is given twice");
      found = &a;
    }
  return found;
}

std::int64_t Importer::attr_int(const std::string& name, std::int64_t fallback) const {
  const onnx::AttributeProto* a = attr(name);
  if (!a) return fallback;
  if (a->type() != onnx::AttributeProto::INT) fail("attribute '" + name + "' must be an int");
  return a->i();
}

float Importer::attr_float(const std::string& name, float fallback) const {
  const onnx::AttributeProto* a = attr(name);
  if (!a) return fallback;
  if (a->type() != onnx::AttributeProto::FLOAT) fail("attribute '" + name + "' must be a float");
  if (!std::isfinite(a->f())) fail("attribute '" + name + "' must be finite");
  return a->f();
}

std::string Importer::attr_string(const std::string& name, const std::string& fallback) const {
  const onnx::AttributeProto* a = attr(name);
  if (!a) return fallback;
  if (a->type() != onnx::AttributeProto::STRING) fail("attribute '" + name + "' must be a string");
  return a->s();
}

std::vector<std::int64_t> Importer::attr_ints(const std::string& name, const std::vector<std::int64_t>& fallback) const {
  const onnx::AttributeProto* a = attr(name);
  if (!a) return fallback;
  if (a->type() != onnx::AttributeProto::INTS) fail("attribute '" + name + "' must be a list of ints");
  return {a->ints().begin(), a->ints().end()};
}

void Importer::only_attrs(std::initializer_list<const char*> known) const {
  for (const auto& a : node_->attribute()) {
    bool ok = false;
    for (const char* k : known) ok = ok || a.name() == k;
    if (!ok) fail("attribute '" + a.name() + "' is not supported");
  }
}

std::string Importer::fresh(const std::string& base) {
  std::string name = base.empty() ? std::string("value") : base;
  for (int k = 2; names_.count(name); ++k) name = base + "." + std::to_string(k);
  if (name.size() > limits().name_length)
    throw FormatError(source_ + ": the name '" + name.substr(0, 64) + "...' is longer than " +
                      limit_hint("name-length", limits().name_length));
  names_.insert(name);
  return name;
}

std::string Importer::declare(const Const& c, ValueKind kind, const std::string& tag, const std::string& base) {
  if (c.is_int) fail("'" + base + "' holds integers where plangrad needs float values");
  const std::string key = c.source_name.empty() ? std::string() : c.source_name + "\n" + tag;
  if (!key.empty()) {
    const auto it = declared_.find(key);
    if (it != declared_.end()) return it->second;
  }
  for (std::size_t k = 0; k < c.f.size(); ++k)
    if (!std::isfinite(c.f[k])) fail("'" + base + "' holds a non-finite value at element " + std::to_string(k));
  // The initializer's own name when it is free: a user finds their layers by it.
  std::string name = c.source_name;
  if (name.empty() || shapes_.count(name)) name = fresh(name.empty() ? base : name);
  names_.insert(name);
  Tensor<float> t(c.dims);
  std::copy(c.f.begin(), c.f.end(), t.data());
  model_.graph.values.push_back({name, kind, c.dims});
  (kind == ValueKind::Parameter ? model_.parameters : model_.state).emplace(name, std::move(t));
  shapes_[name] = c.dims;
  if (!key.empty()) declared_[key] = name;
  return name;
}

std::string Importer::fresh_node(const std::string& base) {
  std::string name = base.empty() ? std::string("node") : base;
  for (int k = 2; node_names_.count(name); ++k) name = base + "." + std::to_string(k);
  if (name.size() > limits().name_length)
    throw FormatError(source_ + ": the node name '" + name.substr(0, 64) + "...' is longer than " +
                      limit_hint("name-length", limits().name_length));
  node_names_.insert(name);
  return name;
}

void Importer::declare_input(const std::string& name, const Shape& shape) {
  names_.insert(name);
  model_.graph.values.push_back({name, ValueKind::Input, shape});
  shapes_[name] = shape;
  values_[name] = Val{nullptr, name, shape, shape};
}

std::string Importer::add(const std::string& op, const std::vector<std::string>& in, const Attrs& attrs,
                          const std::string& out, const std::string& node_name) {
  if (model_.graph.nodes.size() >= limits().nodes)
    throw FormatError(source_ + ": the imported graph has more than " + limit_hint("nodes", limits().nodes));
  const std::string value = out.empty() ? fresh(label_) : out;
  const std::string name = node_name.empty() ? fresh_node(label_) : node_name;
  names_.insert(value);
  node_names_.insert(name);
  std::vector<Shape> at[2];
  try {
    const OpDef& def = find_op(op);
    const Attrs full = normalize_attrs(def, name, attrs);
    std::vector<Shape> bound[2];
    for (int k = 0; k < 2; ++k) {
      for (const std::string& v : in) bound[k].push_back(bind_batch(shapes_.at(v), kNominalBatches[k]));
      at[k] = infer_output_shapes(def, name, bound[k], full);
    }
  } catch (const Error& e) {
    fail(e.what());
  }
  shapes_[value] = mark_batch_dims(at[0].at(0), at[1].at(0));
  model_.graph.nodes.push_back({name, op, in, {value}, attrs});
  return value;
}

}  // namespace plangrad::onnx_import
