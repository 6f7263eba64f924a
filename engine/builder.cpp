#include "engine/builder.hpp"

#include "core/errors.hpp"
#include "ops/op.hpp"

namespace plangrad {

void GraphBuilder::claim(const std::string& name) {
  if (name.empty()) throw GraphError("a value needs a name");
  if (shapes_.count(name)) throw GraphError("duplicate value name '" + name + "'");
}

std::string GraphBuilder::unique_name(const std::string& requested, const std::string& op) {
  if (!requested.empty()) return requested;
  std::string name;
  do {
    name = op + "_" + std::to_string(++counters_[op]);
  } while (shapes_.count(name) || node_names_.count(name));
  return name;
}

Value GraphBuilder::input(const std::string& name, Shape shape) {
  claim(name);
  for (Dim d : shape)
    if (d < 0 && d != kBatchDim)
      throw ShapeError("input '" + name + "': invalid shape " + shape_str(shape));
  Shape nominal[2];
  for (int k = 0; k < 2; ++k) {
    nominal[k] = bind_batch(shape, kNominalBatches[k]);
    check_tensor_size(nominal[k], "input '" + name + "'");
  }
  graph_.values.push_back({name, ValueKind::Input, shape});
  inits_.push_back(init::zeros());
  for (int k = 0; k < 2; ++k) nominal_[k][name] = std::move(nominal[k]);
  shapes_[name] = std::move(shape);
  return {name};
}

Value GraphBuilder::parameter(const std::string& name, Shape shape, Init init) {
  return stored(name, ValueKind::Parameter, std::move(shape), init);
}

Value GraphBuilder::state(const std::string& name, Shape shape, Init init) {
  return stored(name, ValueKind::State, std::move(shape), init);
}

Value GraphBuilder::stored(const std::string& name, ValueKind kind, Shape shape, Init init) {
  claim(name);
  const std::string what = std::string(kind_name(kind)) + " '" + name + "'";
  for (Dim d : shape)
    if (d < 0) throw ShapeError(what + ": invalid shape " + shape_str(shape));
  check_tensor_size(shape, what);
  graph_.values.push_back({name, kind, shape});
  inits_.push_back(init);
  nominal_[0][name] = nominal_[1][name] = shape;
  shapes_[name] = std::move(shape);
  return {name};
}

std::vector<Value> GraphBuilder::op_outputs(const std::string& op_name,
                                            const std::vector<Value>& inputs, Attrs attrs,
                                            std::string name) {
  const OpDef& op = find_op(op_name);
  name = unique_name(name, op_name);
  if (node_names_.count(name)) throw GraphError("duplicate node name '" + name + "'");
  if (!op.takes(inputs.size()))
    throw GraphError(op_name + " '" + name + "': takes " + op.arity() +
                     " inputs, got " + std::to_string(inputs.size()));
  Node node{name, op_name, {}, {}, attrs};
  const Attrs normalized = normalize_attrs(op, name, attrs);
  std::vector<Shape> out_shapes[2];
  for (int k = 0; k < 2; ++k) {
    std::vector<Shape> in_shapes;
    for (const Value& v : inputs) {
      shape(v);  // a GraphError for an unknown value
      in_shapes.push_back(nominal_[k].at(v.name));
    }
    out_shapes[k] = infer_output_shapes(op, name, in_shapes, normalized);
  }
  for (const Value& v : inputs) node.inputs.push_back(v.name);
  std::vector<Value> outs;
  for (std::size_t j = 0; j < out_shapes[0].size(); ++j) {
    const std::string out = op.outputs.size() == 1 ? name : name + ":" + op.outputs[j];
    claim(out);
    Shape merged = mark_batch_dims(out_shapes[0][j], out_shapes[1][j]);
    nominal_[0][out] = out_shapes[0][j];
    nominal_[1][out] = out_shapes[1][j];
    shapes_[out] = std::move(merged);
    node.outputs.push_back(out);
    outs.push_back({out});
  }
  node_names_.insert(name);
  graph_.nodes.push_back(std::move(node));
  return outs;
}

Value GraphBuilder::op(const std::string& op_name, const std::vector<Value>& inputs, Attrs attrs,
                       std::string name) {
  return op_outputs(op_name, inputs, std::move(attrs), std::move(name)).front();
}

Value GraphBuilder::matmul(const Value& a, const Value& b, std::string name) {
  return op("matmul", {a, b}, {}, std::move(name));
}
Value GraphBuilder::add_bias(const Value& x, const Value& bias, std::string name) {
  return op("add_bias", {x, bias}, {}, std::move(name));
}
Value GraphBuilder::add(const Value& a, const Value& b, std::string name) {
  return op("add", {a, b}, {}, std::move(name));
}
Value GraphBuilder::relu(const Value& x, std::string name) { return op("relu", {x}, {}, std::move(name)); }
Value GraphBuilder::sigmoid(const Value& x, std::string name) {
  return op("sigmoid", {x}, {}, std::move(name));
}
Value GraphBuilder::tanh(const Value& x, std::string name) { return op("tanh", {x}, {}, std::move(name)); }
Value GraphBuilder::leaky_relu(const Value& x, double alpha, std::string name) {
  return op("leaky_relu", {x}, {{"alpha", alpha}}, std::move(name));
}
Value GraphBuilder::concat(const std::vector<Value>& xs, std::int64_t axis, std::string name) {
  return op("concat", xs, {{"axis", axis}}, std::move(name));
}
Value GraphBuilder::dropout(const Value& x, double rate, std::string name) {
  return op("dropout", {x}, {{"rate", rate}}, std::move(name));
}
Value GraphBuilder::gelu(const Value& x, std::string name) { return op("gelu", {x}, {}, std::move(name)); }
Value GraphBuilder::softmax(const Value& x, std::string name) {
  return op("softmax", {x}, {}, std::move(name));
}
Value GraphBuilder::log_softmax(const Value& x, std::string name) {
  return op("log_softmax", {x}, {}, std::move(name));
}
Value GraphBuilder::global_avg_pool2d(const Value& x, std::string name) {
  return op("global_avg_pool2d", {x}, {}, std::move(name));
}
Value GraphBuilder::avg_pool2d(const Value& x, std::vector<std::int64_t> kernel, std::vector<std::int64_t> stride,
                               std::vector<std::int64_t> padding, bool count_include_pad, std::string name) {
  return op("avg_pool2d", {x},
            {{"kernel", std::move(kernel)},
             {"stride", std::move(stride)},
             {"padding", std::move(padding)},
             {"count_include_pad", std::int64_t{count_include_pad ? 1 : 0}}},
            std::move(name));
}
Value GraphBuilder::mse_loss(const Value& prediction, const Value& target, std::string name) {
  return op("mse_loss", {prediction, target}, {}, std::move(name));
}
Value GraphBuilder::softmax_cross_entropy(const Value& logits, const Value& labels, std::string name,
                                          double label_smoothing) {
  // The attribute only when set: a model without smoothing is written as before.
  Attrs attrs;
  if (label_smoothing != 0) attrs.set("label_smoothing", label_smoothing);
  return op("softmax_cross_entropy", {logits, labels}, attrs, std::move(name));
}
Value GraphBuilder::binary_cross_entropy_with_logits(const Value& logits, const Value& targets,
                                                     std::string name) {
  return op("binary_cross_entropy_with_logits", {logits, targets}, {}, std::move(name));
}

Value GraphBuilder::dense(const Value& x, Dim units, std::string name, Init weight_init,
                          Init bias_init) {
  const Shape& xs = shape(x);
  if (xs.size() != 2)
    throw ShapeError("dense '" + name + "': input '" + x.name + "' must be [N, features], got " +
                     shape_str(xs));
  name = unique_name(name, "dense");
  const Dim in = xs[1];
  if (bias_init.kind == Init::Kind::TorchDefault && bias_init.fan_in == 0) bias_init.fan_in = in;
  const Value w = parameter(name + ".weight", {in, units}, weight_init);
  const Value b = parameter(name + ".bias", {units}, bias_init);
  return add_bias(matmul(x, w, name + ".matmul"), b, name);
}

Value GraphBuilder::layer_norm(const Value& x, double eps, std::string name) {
  const Shape& xs = shape(x);
  if (xs.empty() || xs.back() == kBatchDim)
    throw ShapeError("layer_norm '" + name + "': input '" + x.name + "' " + shape_str(xs) +
                     " needs a fixed last dimension");
  name = unique_name(name, "layer_norm");
  const Dim d = xs.back();
  const Value gamma = parameter(name + ".weight", {d}, init::constant(1.0));
  const Value beta = parameter(name + ".bias", {d}, init::zeros());
  return op("layer_norm", {x, gamma, beta}, {{"eps", eps}}, name);
}

void GraphBuilder::output(const Value& v) {
  shape(v);  // must exist
  graph_.outputs.push_back(v.name);
}

const Shape& GraphBuilder::shape(const Value& v) const {
  auto it = shapes_.find(v.name);
  if (it == shapes_.end()) throw GraphError("unknown value '" + v.name + "'");
  return it->second;
}

Model GraphBuilder::build(std::uint64_t seed) const {
  Model model;
  model.graph = graph_;
  Rng rng(seed);
  for (std::size_t i = 0; i < graph_.values.size(); ++i) {
    const ValueDecl& v = graph_.values[i];
    if (v.kind == ValueKind::Input) continue;
    Tensor<float> data(v.shape);
    fill_init(inits_[i], v.shape, data.data(), rng);
    (v.kind == ValueKind::Parameter ? model.parameters : model.state).emplace(v.name, std::move(data));
  }
  return model;
}

}  // namespace plangrad
