// The Emitter (onnx/export_graph.hpp): ONNX nodes, fresh names and constant initializers.
#include <utility>

#include "core/errors.hpp"
#include "onnx/export_graph.hpp"

namespace plangrad::onnx_export {

Emitter::Emitter(onnx::GraphProto& graph, int opset, std::set<std::string> taken)
    : graph_(graph), opset_(opset), taken_(std::move(taken)) {}

onnx::NodeProto& Emitter::node(const std::string& op_type, const std::string& name,
                               const std::vector<std::string>& inputs, const std::vector<std::string>& outputs) {
  onnx::NodeProto& n = *graph_.add_node();
  n.set_op_type(op_type);
  n.set_name(name);
  for (const std::string& v : inputs) n.add_input(v);
  for (const std::string& v : outputs) n.add_output(v);
  if (!source_op_.empty()) n.set_doc_string("plangrad op " + source_op_);
  return n;
}

std::string Emitter::fresh(const std::string& base, const std::string& what) {
  std::string name = base + "/" + what;
  for (int k = 2; taken_.count(name); ++k) name = base + "/" + what + "_" + std::to_string(k);
  taken_.insert(name);
  return name;
}

std::string Emitter::floats(const std::string& base, const std::string& what, const std::vector<std::int64_t>& dims,
                            const std::vector<float>& values) {
  onnx::TensorProto& t = *graph_.add_initializer();
  t.set_name(fresh(base, what));
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (std::int64_t d : dims) t.add_dims(d);
  for (float v : values) t.add_float_data(v);
  return t.name();
}

std::string Emitter::doubles(const std::string& base, const std::string& what, const std::vector<std::int64_t>& dims,
                             const std::vector<double>& values) {
  onnx::TensorProto& t = *graph_.add_initializer();
  t.set_name(fresh(base, what));
  t.set_data_type(onnx::TensorProto::DOUBLE);
  for (std::int64_t d : dims) t.add_dims(d);
  for (double v : values) t.add_double_data(v);
  return t.name();
}

std::string Emitter::ints(const std::string& base, const std::string& what, const std::vector<std::int64_t>& values) {
  onnx::TensorProto& t = *graph_.add_initializer();
  t.set_name(fresh(base, what));
  t.set_data_type(onnx::TensorProto::INT64);
  t.add_dims(static_cast<std::int64_t>(values.size()));
  for (std::int64_t v : values) t.add_int64_data(v);
  return t.name();
}

void set_int(onnx::NodeProto& n, const std::string& name, std::int64_t v) {
  onnx::AttributeProto& a = *n.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(v);
}

void set_float(onnx::NodeProto& n, const std::string& name, float v) {
  onnx::AttributeProto& a = *n.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::FLOAT);
  a.set_f(v);
}

void set_ints(onnx::NodeProto& n, const std::string& name, const std::vector<std::int64_t>& v) {
  onnx::AttributeProto& a = *n.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INTS);
  for (std::int64_t x : v) a.add_ints(x);
}

}  // namespace plangrad::onnx_export
