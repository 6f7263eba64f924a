// The op table. Adding an op: include its header and add one line to builtin_ops().
#include <memory>
#include <mutex>

#include "core/limits.hpp"
#include "ops/activations.hpp"
#include "ops/add.hpp"
#include "ops/avg_pool2d.hpp"
#include "ops/batchnorm.hpp"
#include "ops/concat.hpp"
#include "ops/conv2d.hpp"
#include "ops/conv2d_winograd.hpp"
#include "ops/dropout.hpp"
#include "ops/fold_batchnorm.hpp"
#include "ops/gelu.hpp"
#include "ops/global_avg_pool2d.hpp"
#include "ops/layer_norm.hpp"
#include "ops/leaky_relu.hpp"
#include "ops/log_softmax.hpp"
#include "ops/losses.hpp"
#include "ops/matmul.hpp"
#include "ops/normalize.hpp"
#include "ops/op.hpp"
#include "ops/pool.hpp"
#include "ops/reshape.hpp"
#include "ops/softmax.hpp"
#include "ops/standardize.hpp"

namespace plangrad {
namespace {

std::vector<const OpDef*> builtin_ops() {
  return {
      &matmul_op(),
      &add_bias_op(),
      &add_op(),
      &relu_op(),
      &sigmoid_op(),
      &tanh_op(),
      &mse_loss_op(),
      &softmax_cross_entropy_op(),
      &binary_cross_entropy_with_logits_op(),
      &conv2d_op(),
      &conv2d_nobias_op(),
      &max_pool2d_op(),
      &batchnorm_op(),
      &flatten_op(),
      &reshape_op(),
      &normalize_op(),
      &softmax_op(),
      &standardize_op(),
      &leaky_relu_op(),
      &gelu_op(),
      &log_softmax_op(),
      &global_avg_pool2d_op(),
      &avg_pool2d_op(),
      &layer_norm_op(),
      &dropout_op(),
      &concat_op(),
      &fold_conv_bn_op(),
      &fold_conv_nobias_bn_op(),
      &winograd_filters_op(),
      &conv2d_winograd_op(),
      &conv2d_by_winograd_op(),
      &conv2d_nobias_by_winograd_op(),
  };
}

struct Registry {
  std::mutex mutex;
  std::vector<const OpDef*> ops = builtin_ops();
  std::vector<std::unique_ptr<OpDef>> user_ops;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

const OpDef* lookup_op(std::string_view name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (const OpDef* op : r.ops)
    if (op->name == name) return op;
  return nullptr;
}

const OpDef& find_op(std::string_view name) {
  if (const OpDef* op = lookup_op(name)) return *op;
  throw GraphError("unknown op '" + std::string(name) + "'");
}

std::vector<const OpDef*> all_ops() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.ops;
}

void register_op(OpDef def) {
  if (def.name.empty() || !def.shape || !def.f32.forward || !def.f64.forward)
    throw GraphError("register_op: an op needs a name, a shape rule and forward kernels");
  const std::size_t n_in = def.inputs.size(), n_out = def.outputs.size();
  if (def.differentiable.size() != n_in || def.backward_reads_in.size() != n_in ||
      def.backward_reads_out.size() != n_out)
    throw GraphError("register_op '" + def.name +
                     "': differentiable/backward_reads_in must have one entry per input and "
                     "backward_reads_out one per output");
  if (lookup_op(def.name)) throw GraphError("register_op: op '" + def.name + "' exists already");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.user_ops.push_back(std::make_unique<OpDef>(std::move(def)));
  r.ops.push_back(r.user_ops.back().get());
}

namespace {
bool has_type(const AttrValue& v, AttrType t) {
  switch (t) {
    case AttrType::Int: return std::holds_alternative<std::int64_t>(v);
    case AttrType::Float: return std::holds_alternative<double>(v) || std::holds_alternative<std::int64_t>(v);
    case AttrType::String: return std::holds_alternative<std::string>(v);
    case AttrType::Ints: return std::holds_alternative<std::vector<std::int64_t>>(v);
  }
  return false;
}
const char* type_name(AttrType t) {
  switch (t) {
    case AttrType::Int: return "an integer";
    case AttrType::Float: return "a number";
    case AttrType::String: return "a string";
    case AttrType::Ints: return "a list of integers";
  }
  return "?";
}
}  // namespace

Attrs normalize_attrs(const OpDef& op, const std::string& node, const Attrs& attrs) {
  auto where = [&] { return op.name + " '" + node + "'"; };
  for (const auto& [name, value] : attrs.items()) {
    bool known = false;
    for (const AttrSpec& spec : op.attrs) known = known || spec.name == name;
    if (!known) throw GraphError(where() + ": unknown attribute '" + name + "'");
  }
  Attrs out;
  for (const AttrSpec& spec : op.attrs) {
    const AttrValue* v = attrs.find(spec.name);
    if (!v) {
      if (spec.required) throw GraphError(where() + ": missing attribute '" + spec.name + "'");
      out.set(spec.name, spec.default_value);
      continue;
    }
    if (!has_type(*v, spec.type))
      throw GraphError(where() + ": attribute '" + spec.name + "' must be " + type_name(spec.type) +
                       ", got " + attr_str(*v));
    // Float attributes are stored as double even when written as an integer.
    if (spec.type == AttrType::Float)
      out.set(spec.name, attrs.get_float(spec.name));
    else
      out.set(spec.name, *v);
  }
  return out;
}

std::vector<Shape> infer_output_shapes(const OpDef& op, const std::string& node,
                                       const std::vector<Shape>& in, const Attrs& attrs) {
  std::vector<Shape> out;
  try {
    out = op.shape(in, attrs);
  } catch (const ShapeError& e) {
    throw ShapeError(op.name + " '" + node + "': " + e.what());
  } catch (const GraphError& e) {  // an attribute read inside the shape rule
    throw GraphError(op.name + " '" + node + "': " + e.what());
  }
  if (out.size() != op.outputs.size())
    throw GraphError(op.name + " '" + node + "': the shape rule returned " +
                     std::to_string(out.size()) + " shapes for " +
                     std::to_string(op.outputs.size()) + " outputs");
  for (std::size_t k = 0; k < out.size(); ++k) {
    for (Dim d : out[k])
      if (d < 0) throw ShapeError(op.name + " '" + node + "': negative output dimension in " + shape_str(out[k]));
    check_tensor_size(out[k], op.name + " '" + node + "' output '" + op.outputs[k] + "'");
  }
  return out;
}

void check_tensor_size(const Shape& shape, const std::string& what) {
  std::size_t n = 1;
  bool overflow = false;
  for (Dim d : shape) {
    if (d < 0) throw ShapeError(what + ": shape " + shape_str(shape) + " has a negative dimension");
    overflow = overflow || __builtin_mul_overflow(n, static_cast<std::size_t>(d), &n);
  }
  const std::uint64_t limit = limits().tensor_elements;
  if (overflow || n > limit)
    throw ShapeError(what + ": shape " + shape_str(shape) + " has " +
                     (overflow ? std::string("more than 2^64") : std::to_string(n)) +
                     " elements, more than " + limit_hint("tensor-elements", limit));
}

Shape bind_batch(Shape shape, Dim batch) {
  for (Dim& d : shape)
    if (d == kBatchDim) d = batch;
  return shape;
}

Shape mark_batch_dims(const Shape& at_first, const Shape& at_second) {
  Shape merged = at_first;
  for (std::size_t d = 0; d < merged.size(); ++d)
    if (d >= at_second.size() || merged[d] != at_second[d]) merged[d] = kBatchDim;
  return merged;
}

}  // namespace plangrad
