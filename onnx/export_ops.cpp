// One ONNX mapping per plangrad op: the table at the end, keyed by op name. A new op adds
// one function and one line (DEVELOPERS.md, "The op contract"). Each mapping writes
// standard ONNX (the default domain) valid at every opset save_onnx accepts, 13 to 17, and
// computes what docs/ops.md says the op computes, in Eval mode.
#include <cstdint>
#include <utility>

#include "core/errors.hpp"
#include "onnx/export_graph.hpp"

namespace plangrad::onnx_export {
namespace {

const std::string& in(const NodeView& n, std::size_t k) { return n.inputs.at(k); }

// An op that is one ONNX op with the same inputs and output.
template <const char* OnnxOp>
void same_op(const NodeView& n, Emitter& e) {
  e.node(OnnxOp, n.name, n.inputs, n.outputs);
}
constexpr char kMatMul[] = "MatMul";
constexpr char kAdd[] = "Add";
constexpr char kRelu[] = "Relu";
constexpr char kSigmoid[] = "Sigmoid";
constexpr char kTanh[] = "Tanh";

// A pair of two entries, as the 2-d ops' Ints attributes are ([h, w]).
std::vector<std::int64_t> pair_attr(const NodeView& n, const char* name) {
  const std::vector<std::int64_t>& v = n.attrs.get_ints(name);
  if (v.size() != 2) refuse(n, std::string("attribute '") + name + "' must have two entries");
  return v;
}

// ONNX's pads: begin of each axis, then end of each; plangrad pads both sides alike.
std::vector<std::int64_t> pads(const NodeView& n) {
  const std::vector<std::int64_t> p = pair_attr(n, "padding");
  return {p[0], p[1], p[0], p[1]};
}

// softmax and log_softmax along the last axis (ONNX's axis semantics from opset 13 on).
void softmax(const NodeView& n, Emitter& e) { set_int(e.node("Softmax", n.name, n.inputs, n.outputs), "axis", -1); }
void log_softmax(const NodeView& n, Emitter& e) {
  set_int(e.node("LogSoftmax", n.name, n.inputs, n.outputs), "axis", -1);
}

// dropout is the identity in Eval mode, which is what an exported inference graph runs.
void dropout(const NodeView& n, Emitter& e) { e.node("Identity", n.name, {in(n, 0)}, n.outputs); }

// ONNX's Concat takes plangrad's axis as it is (negative counts from the end in both).
void concat(const NodeView& n, Emitter& e) {
  set_int(e.node("Concat", n.name, n.inputs, n.outputs), "axis", n.attrs.get_int("axis"));
}

void leaky_relu(const NodeView& n, Emitter& e) {
  set_float(e.node("LeakyRelu", n.name, n.inputs, n.outputs), "alpha", static_cast<float>(n.attrs.get_float("alpha")));
}

// Gelu is an ONNX op from opset 20 only; below that, the tanh approximation in the order
// plangrad's kernel evaluates it: y = (0.5 x) (1 + tanh(k (x + c (x x x)))).
void gelu(const NodeView& n, Emitter& e) {
  const std::string& x = in(n, 0);
  const std::string k = e.floats(n.name, "sqrt_2_over_pi", {}, {0.7978845608028654f});
  const std::string c = e.floats(n.name, "cubic", {}, {0.044715f});
  const std::string half = e.floats(n.name, "half", {}, {0.5f});
  const std::string one = e.floats(n.name, "one", {}, {1.0f});
  const auto step = [&](const char* op, const char* what, std::vector<std::string> ins) {
    const std::string v = e.fresh(n.name, what);
    e.node(op, v, ins, {v});
    return v;
  };
  const std::string x2 = step("Mul", "x2", {x, x});
  const std::string x3 = step("Mul", "x3", {x2, x});
  const std::string cx3 = step("Mul", "cx3", {c, x3});
  const std::string s = step("Add", "inner", {x, cx3});
  const std::string u = step("Mul", "u", {k, s});
  const std::string t = step("Tanh", "tanh", {u});
  const std::string t1 = step("Add", "one_plus_tanh", {one, t});
  const std::string hx = step("Mul", "half_x", {half, x});
  e.node("Mul", n.name, {hx, t1}, n.outputs);
}

void conv2d(const NodeView& n, Emitter& e) {
  const Shape& w = n.input_shapes.at(1);
  if (w.size() != 4) refuse(n, "the weight must be [F, C, KH, KW], got " + shape_str(w));
  onnx::NodeProto& node = e.node("Conv", n.name, n.inputs, n.outputs);
  set_ints(node, "kernel_shape", {w[2], w[3]});
  set_ints(node, "strides", pair_attr(n, "stride"));
  set_ints(node, "pads", pads(n));
  set_ints(node, "dilations", {1, 1});
  set_int(node, "group", 1);
}

// The pools' geometry; plangrad's stride [] is the kernel. The output size is the floor
// (ceil_mode 0), as plangrad's.
void pool_geometry(const NodeView& n, onnx::NodeProto& node) {
  const std::vector<std::int64_t> kernel = pair_attr(n, "kernel");
  const std::vector<std::int64_t>& stride = n.attrs.get_ints("stride");
  if (!stride.empty() && stride.size() != 2) refuse(n, "attribute 'stride' must have two entries or none");
  set_ints(node, "kernel_shape", kernel);
  set_ints(node, "strides", stride.empty() ? kernel : stride);
  set_ints(node, "pads", pads(n));
  set_int(node, "ceil_mode", 0);
}

// plangrad's padding cells are -inf, never the maximum, and ONNX's MaxPool ignores its pads
// likewise; plangrad's padding is smaller than the kernel, so no window is all padding.
void max_pool2d(const NodeView& n, Emitter& e) { pool_geometry(n, e.node("MaxPool", n.name, n.inputs, n.outputs)); }

void avg_pool2d(const NodeView& n, Emitter& e) {
  onnx::NodeProto& node = e.node("AveragePool", n.name, n.inputs, n.outputs);
  pool_geometry(n, node);
  const std::int64_t include = n.attrs.get_int("count_include_pad");
  if (include != 0 && include != 1) refuse(n, "attribute 'count_include_pad' must be 0 or 1");
  set_int(node, "count_include_pad", include);
}

// GlobalAveragePool keeps [N, C, 1, 1]; plangrad's op gives [N, C].
void global_avg_pool2d(const NodeView& n, Emitter& e) {
  const std::string pooled = e.fresh(n.name, "pooled");
  e.node("GlobalAveragePool", pooled, n.inputs, {pooled});
  set_int(e.node("Flatten", n.name, {pooled}, n.outputs), "axis", 1);
}

// Eval mode: the running statistics are BatchNormalization's mean and var inputs, in
// plangrad's input order (x, gamma, beta, running_mean, running_var). ONNX's momentum
// weighs the old running value, plangrad's the new batch value.
void batchnorm(const NodeView& n, Emitter& e) {
  onnx::NodeProto& node = e.node("BatchNormalization", n.name, n.inputs, n.outputs);
  set_float(node, "epsilon", static_cast<float>(n.attrs.get_float("eps")));
  set_float(node, "momentum", static_cast<float>(1.0 - n.attrs.get_float("momentum")));
}

// LayerNormalization is an ONNX op from opset 17; below that, plangrad's kernel written
// out: each row's statistics in double (a row far from 0 loses no digits to the mean),
// xhat = (x - mean) / sqrt(var + eps) rounded to float once, then gamma xhat + beta.
void layer_norm(const NodeView& n, Emitter& e) {
  const double eps = n.attrs.get_float("eps");
  if (e.opset() >= 17) {
    onnx::NodeProto& node = e.node("LayerNormalization", n.name, n.inputs, n.outputs);
    set_int(node, "axis", -1);
    set_float(node, "epsilon", static_cast<float>(eps));
    return;
  }
  const auto step = [&](const char* op, const char* what, std::vector<std::string> ins) -> onnx::NodeProto& {
    const std::string v = e.fresh(n.name, what);
    return e.node(op, v, ins, {v});
  };
  const auto cast = [&](const char* what, const std::string& v, onnx::TensorProto::DataType to) {
    onnx::NodeProto& node = step("Cast", what, {v});
    set_int(node, "to", to);
    return node.output(0);
  };
  const auto mean_of = [&](const char* what, const std::string& v) {
    onnx::NodeProto& node = step("ReduceMean", what, {v});
    set_ints(node, "axes", {-1});
    set_int(node, "keepdims", 1);
    return node.output(0);
  };
  const std::string x = cast("x_double", in(n, 0), onnx::TensorProto::DOUBLE);
  const std::string mean = mean_of("mean", x);
  const std::string d = step("Sub", "centered", {x, mean}).output(0);
  const std::string sq = step("Mul", "squared", {d, d}).output(0);
  const std::string var = mean_of("var", sq);
  const std::string ve = step("Add", "var_eps", {var, e.doubles(n.name, "eps", {}, {eps})}).output(0);
  const std::string rstd = step("Reciprocal", "rstd", {step("Sqrt", "std", {ve}).output(0)}).output(0);
  const std::string xhat = cast("xhat", step("Mul", "xhat_double", {d, rstd}).output(0), onnx::TensorProto::FLOAT);
  const std::string scaled = step("Mul", "scaled", {in(n, 1), xhat}).output(0);
  e.node("Add", n.name, {scaled, in(n, 2)}, n.outputs);
}

void flatten(const NodeView& n, Emitter& e) { set_int(e.node("Flatten", n.name, n.inputs, n.outputs), "axis", 1); }

// plangrad's shape has no 0 entries (ONNX's "copy this dimension"); its -1 is ONNX's.
void reshape(const NodeView& n, Emitter& e) {
  const std::vector<std::int64_t>& shape = n.attrs.get_ints("shape");
  for (std::int64_t d : shape)
    if (d == 0 || d < -1) refuse(n, "attribute 'shape' must have positive entries or one -1");
  e.node("Reshape", n.name, {in(n, 0), e.ints(n.name, "shape", shape)}, n.outputs);
}

// (x - mean) / std, two float constants, as plangrad's kernel computes it.
void normalize(const NodeView& n, Emitter& e) {
  const std::string mean = e.floats(n.name, "mean", {}, {static_cast<float>(n.attrs.get_float("mean"))});
  const std::string sd = e.floats(n.name, "std", {}, {static_cast<float>(n.attrs.get_float("std"))});
  const std::string centered = e.fresh(n.name, "centered");
  e.node("Sub", centered, {in(n, 0), mean}, {centered});
  e.node("Div", n.name, {centered, sd}, n.outputs);
}

// (x - mean) / std, or x * std + mean (inverse), with mean and std [F] (state, so
// initializers) broadcast over the leading dimensions.
void standardize(const NodeView& n, Emitter& e) {
  const std::int64_t inverse = n.attrs.get_int("inverse");
  if (inverse != 0 && inverse != 1) refuse(n, "attribute 'inverse' must be 0 or 1");
  const std::string& x = in(n, 0);
  const std::string& mean = in(n, 1);
  const std::string& sd = in(n, 2);
  const std::string mid = e.fresh(n.name, inverse ? "scaled" : "centered");
  if (inverse) {
    e.node("Mul", mid, {x, sd}, {mid});
    e.node("Add", n.name, {mid, mean}, n.outputs);
  } else {
    e.node("Sub", mid, {x, mean}, {mid});
    e.node("Div", n.name, {mid, sd}, n.outputs);
  }
}

struct Entry {
  const char* op;
  OpExport map;
};

// The table: one line per plangrad op (ops/registry.cpp). The losses have no entry: an
// inference graph has none, and a loss asked for as an output is refused by name.
const Entry kTable[] = {
    {"matmul", same_op<kMatMul>},
    {"add_bias", same_op<kAdd>},
    {"add", same_op<kAdd>},
    {"relu", same_op<kRelu>},
    {"sigmoid", same_op<kSigmoid>},
    {"tanh", same_op<kTanh>},
    {"softmax", softmax},
    {"log_softmax", log_softmax},
    {"leaky_relu", leaky_relu},
    {"gelu", gelu},
    {"conv2d", conv2d},
    {"conv2d_nobias", conv2d},
    {"max_pool2d", max_pool2d},
    {"avg_pool2d", avg_pool2d},
    {"global_avg_pool2d", global_avg_pool2d},
    {"batchnorm", batchnorm},
    {"layer_norm", layer_norm},
    {"flatten", flatten},
    {"reshape", reshape},
    {"normalize", normalize},
    {"standardize", standardize},
    {"dropout", dropout},
    {"concat", concat},
};

}  // namespace

OpExport find_op_export(std::string_view op) {
  for (const Entry& entry : kTable)
    if (op == entry.op) return entry.map;
  return nullptr;
}

std::vector<std::string> exportable_ops() {
  std::vector<std::string> ops;
  for (const Entry& entry : kTable) ops.push_back(entry.op);
  return ops;
}

void refuse(const NodeView& node, const std::string& why) {
  throw GraphError("node '" + node.name + "' (op " + node.op + ") has no ONNX equivalent: " + why);
}

}  // namespace plangrad::onnx_export
