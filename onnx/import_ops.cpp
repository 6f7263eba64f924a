// One mapping per ONNX op type onto plangrad nodes (docs/onnx.md, "Import", has the
// table). A mapping reads its node's inputs and attributes through the Importer, refuses
// what plangrad's op cannot compute exactly, and sets the node's outputs.

#include <string>

#include "core/errors.hpp"
#include "onnx/import.hpp"

namespace plangrad::onnx_import {
namespace {

using Ints = std::vector<std::int64_t>;

void unary(Importer& im, const char* op, const Attrs& attrs = {}) {
  const std::string x = im.graph_input(0, "input");
  im.set_output(0, im.add(op, {x}, attrs, out_name(im)));
}

void map_relu(Importer& im) { im.only_attrs({}); unary(im, "relu"); }
void map_sigmoid(Importer& im) { im.only_attrs({}); unary(im, "sigmoid"); }
void map_tanh(Importer& im) { im.only_attrs({}); unary(im, "tanh"); }

void map_leaky_relu(Importer& im) {
  im.only_attrs({"alpha"});
  unary(im, "leaky_relu", {{"alpha", static_cast<double>(im.attr_float("alpha", 0.01f))}});
}

// Softmax / LogSoftmax along the last axis. Before opset 13 the input is seen as 2-D,
// [prod(d0..axis-1), prod(axis..)], which is the last axis exactly when axis is the last.
void softmax_like(Importer& im, const char* op) {
  im.only_attrs({"axis"});
  const Val& v = im.input(0);
  const auto rank = static_cast<std::int64_t>(v.shape.size());
  std::int64_t axis = im.attr_int("axis", im.opset() >= 13 ? -1 : 1);
  if (axis < -rank || axis >= rank) im.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  if (axis < 0) axis += rank;
  if (axis != rank - 1)
    im.fail("axis " + std::to_string(axis) + " of a rank-" + std::to_string(rank) +
            " input; plangrad's " + op + " runs along the last axis only");
  unary(im, op);
}
void map_softmax(Importer& im) { softmax_like(im, "softmax"); }
void map_log_softmax(Importer& im) { softmax_like(im, "log_softmax"); }

Const transposed(const Const& c) {
  Const t = c;
  const auto r = static_cast<std::size_t>(c.dims[0]), k = static_cast<std::size_t>(c.dims[1]);
  t.dims = {c.dims[1], c.dims[0]};
  for (std::size_t a = 0; a < r; ++a)
    for (std::size_t b = 0; b < k; ++b) t.f[b * r + a] = c.f[a * k + b];
  return t;
}

// A bias for a [.., F] value: [F], or [1, .., 1, F], or one value repeated.
Const bias_vector(Importer& im, const Const& c, Dim features, const char* what) {
  if (c.is_int) im.fail(std::string(what) + " holds integers");
  if (features < 1) im.fail(std::string(what) + " for a last dimension of " + std::to_string(features));
  Const b = c;
  if (c.size() == 1 && features != 1) {
    b.f.assign(static_cast<std::size_t>(features), c.f[0]);
  } else {
    for (std::size_t k = 0; k + 1 < c.dims.size(); ++k)
      if (c.dims[k] != 1) im.fail(std::string(what) + " " + shape_str(c.dims) + " is not a vector over the last dimension");
    if (c.dims.empty() || c.dims.back() != features)
      im.fail(std::string(what) + " " + shape_str(c.dims) + " does not match the last dimension " + std::to_string(features));
  }
  b.dims = {features};
  return b;
}

void map_gemm(Importer& im) {
  im.only_attrs({"alpha", "beta", "transA", "transB"});
  if (im.attr_int("transA", 0) != 0) im.fail("transA=1 is not read (the input would need a transpose)");
  const std::int64_t trans_b = im.attr_int("transB", 0);
  const float alpha = im.attr_float("alpha", 1.f), beta = im.attr_float("beta", 1.f);
  const std::string a = im.graph_input(0, "A");
  const Shape& as = im.shape_of(a);
  if (as.size() != 2) im.fail("A " + shape_str(as) + " must be 2-D");
  std::string w;
  Dim m = 0;
  if (im.input(1).constant) {
    Const b = im.const_input(1, "B");
    if (b.is_int || b.dims.size() != 2) im.fail("B " + shape_str(b.dims) + " must be a 2-D float matrix");
    if (trans_b) b = transposed(b);
    if (alpha != 1.f)
      for (float& v : b.f) v *= alpha;
    m = b.dims[1];
    std::string tag = trans_b ? "T" : "";
    if (alpha != 1.f) tag += "*" + std::to_string(alpha);
    w = im.declare(b, ValueKind::Parameter, tag, im.node().input(1));
  } else {
    if (trans_b || alpha != 1.f) im.fail("B computed from the input must come with transB=0 and alpha=1");
    w = im.graph_input(1, "B");
    m = im.shape_of(w).size() == 2 ? im.shape_of(w)[1] : 0;
  }
  if (!im.has_input(2)) {
    im.set_output(0, im.add("matmul", {a, w}, {}, out_name(im)));
    return;
  }
  Const c = bias_vector(im, im.const_input(2, "C"), m, "C");
  if (beta != 1.f)
    for (float& v : c.f) v *= beta;
  const std::string bias = im.declare(c, ValueKind::Parameter, beta != 1.f ? "*" + std::to_string(beta) : "", im.node().input(2));
  const std::string y = im.add("matmul", {a, w}, {}, im.fresh(out_name(im) + "/matmul"), im.fresh_node(im.label() + "/matmul"));
  im.set_output(0, im.add("add_bias", {y, bias}, {}, out_name(im)));
}

void map_matmul(Importer& im) {
  im.only_attrs({});
  const std::string a = im.graph_input(0, "A");
  if (im.shape_of(a).size() != 2) im.fail("A " + shape_str(im.shape_of(a)) + " must be 2-D");
  std::string b;
  if (im.input(1).constant) {
    const Const& c = im.const_input(1, "B");
    if (c.is_int || c.dims.size() != 2) im.fail("B " + shape_str(c.dims) + " must be a 2-D float matrix");
    b = im.declare(c, ValueKind::Parameter, "", im.node().input(1));
  } else {
    b = im.graph_input(1, "B");
  }
  im.set_output(0, im.add("matmul", {a, b}, {}, out_name(im)));
}

// Add: two values of one shape (add), or a value and a constant vector over its last
// dimension (add_bias, as after a MatMul).
void map_add(Importer& im) {
  im.only_attrs({});
  const bool c0 = static_cast<bool>(im.input(0).constant), c1 = static_cast<bool>(im.input(1).constant);
  if (!c0 && !c1) {
    const std::string a = im.graph_input(0, "A"), b = im.graph_input(1, "B");
    if (im.shape_of(a) != im.shape_of(b))
      im.fail("A " + shape_str(im.shape_of(a)) + " and B " + shape_str(im.shape_of(b)) +
              " differ; plangrad's add does not broadcast");
    im.set_output(0, im.add("add", {a, b}, {}, out_name(im)));
    return;
  }
  const int value = c0 ? 1 : 0;
  const std::string x = im.graph_input(value, "input");
  const Shape& xs = im.shape_of(x);
  const Const& raw = im.const_input(1 - value, "bias");
  if (xs.empty()) im.fail("input is a scalar");
  if (raw.dims.size() > xs.size()) im.fail("bias " + shape_str(raw.dims) + " has a higher rank than the input " + shape_str(xs));
  const Const c = bias_vector(im, raw, xs.back(), "bias");
  const std::string bias = im.declare(c, ValueKind::Parameter, "", im.node().input(1 - value));
  im.set_output(0, im.add("add_bias", {x, bias}, {}, out_name(im)));
}

// Concat of values (all constant ones are folded before this): plangrad's concat, along
// any axis but the batch's.
void map_concat(Importer& im) {
  im.only_attrs({"axis"});
  const int n = im.node().input_size();
  if (n < 1) im.fail("no inputs");
  std::vector<std::string> xs;
  for (int i = 0; i < n; ++i) {
    if (im.input(i).constant) im.fail("input " + std::to_string(i) + " is a constant among values; plangrad's concat takes values only");
    xs.push_back(im.graph_input(i, "input"));
  }
  const auto rank = static_cast<std::int64_t>(im.shape_of(xs[0]).size());
  std::int64_t axis = im.attr_int("axis", 0);
  if (axis < -rank || axis >= rank) im.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  if ((axis < 0 ? axis + rank : axis) == 0) im.fail("axis 0 is the batch; plangrad concatenates along the others");
  im.set_output(0, im.add("concat", xs, {{"axis", axis}}, out_name(im)));
}

// Sub / Div of a value by one constant: plangrad's normalize, (x - mean) / std.
void map_sub_div(Importer& im) {
  im.only_attrs({});
  const bool div = im.node().op_type() == "Div";
  if (im.input(0).constant) im.fail("a constant minus or over a value is not read");
  const Const& c = im.const_input(1, "B");
  if (c.is_int || c.size() != 1) im.fail("B must be one float (plangrad's normalize takes one mean and one std)");
  const double v = c.f[0];
  if (div && !(v > 0)) im.fail("dividing by " + std::to_string(v) + "; normalize needs a positive std");
  const std::string x = im.graph_input(0, "A");
  const Attrs attrs = div ? Attrs{{"mean", 0.0}, {"std", v}} : Attrs{{"mean", v}, {"std", 1.0}};
  im.set_output(0, im.add("normalize", {x}, attrs, out_name(im)));
}

// The value (its plangrad name and ONNX shape) as `target` (ONNX's shape, the batch
// first): the same value when the plangrad shape is already that, else a flatten or a
// reshape of the plangrad value (same elements, same order).
void reshape_to(Importer& im, const Val& v, const Shape& target) {
  if (v.padded()) im.fail("input comes from a Pad, which plangrad takes only into a Conv or an AveragePool");
  if (target == v.actual) {
    im.set_output(0, im.graph_val(v.name));
    return;
  }
  if (target.size() == 2 && v.actual.size() >= 2) {
    im.set_output(0, im.add("flatten", {v.name}, {}, out_name(im)));
    return;
  }
  std::vector<std::int64_t> dims(target.begin(), target.end());
  dims[0] = -1;
  im.set_output(0, im.add("reshape", {v.name}, {{"shape", dims}}, out_name(im)));
}

void map_flatten(Importer& im) {
  im.only_attrs({"axis"});
  const Val v = im.input(0);
  if (v.constant) im.fail("Flatten of a constant is not folded");
  const auto rank = static_cast<std::int64_t>(v.shape.size());
  std::int64_t axis = im.attr_int("axis", 1);
  if (axis < -rank || axis > rank) im.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  if (axis < 0) axis += rank;
  if (axis != 1) im.fail("axis " + std::to_string(axis) + " is not read (only 1: the batch stays the first dimension)");
  Dim rest = 1;
  for (std::size_t k = 1; k < v.shape.size(); ++k) rest = rest * v.shape[k];
  reshape_to(im, v, {kBatchDim, rest});
}

// Reshape of a value by a constant (or folded) shape: entries 0 (copy the input's), -1
// (inferred), the batch size (folded from Shape), or fixed. The batch must stay first.
void map_reshape(Importer& im) {
  im.only_attrs({"allowzero"});
  const Val v = im.input(0);
  const Const& sc = im.const_input(1, "shape");
  if (!sc.is_int || sc.dims.size() != 1) im.fail("shape must be a 1-D integer tensor");
  const bool allowzero = im.attr_int("allowzero", 0) != 0;
  const Shape& in = v.shape;
  if (in.empty() || in[0] != kBatchDim) im.fail("input " + shape_str(in) + " has no batch dimension");
  Dim per_example = 1;
  for (std::size_t k = 1; k < in.size(); ++k) per_example *= in[k];
  Shape target;
  int infer = -1;
  bool batch_first = false;
  Dim known = 1;
  for (std::size_t k = 0; k < sc.i.size(); ++k) {
    std::int64_t d = sc.i[k];
    if (d == 0 && !allowzero) {
      if (k >= in.size()) im.fail("shape entry 0 at " + std::to_string(k) + " copies no dimension of " + shape_str(in));
      d = in[k] == kBatchDim ? kBatchValue : in[k];
    }
    if (d == kBatchValue || (k == 0 && im.fixed_batch > 0 && d == im.fixed_batch)) {
      if (k != 0) im.fail("the batch size at position " + std::to_string(k) + " of the shape; plangrad keeps it first");
      batch_first = true;
      target.push_back(kBatchDim);
      continue;
    }
    if (d == -1) {
      if (infer >= 0) im.fail("shape has two -1 entries");
      infer = static_cast<int>(k);
      target.push_back(-1);
      continue;
    }
    if (d <= 0) im.fail("shape entry " + std::to_string(d) + " is not read");
    if (__builtin_mul_overflow(known, d, &known) || known > per_example)
      im.fail("shape " + shape_str(sc.i) + " does not fit " + shape_str(in));
    target.push_back(d);
  }
  if (!batch_first) {
    // [-1, d1, ..]: the -1 is the batch when the other entries hold one example.
    if (infer != 0 || known != per_example) im.fail("shape " + shape_str(sc.i) + " does not keep the batch first for " + shape_str(in));
    target[0] = kBatchDim;
  } else if (infer >= 0) {
    if (known == 0 || per_example % known != 0) im.fail("shape " + shape_str(sc.i) + " does not fit " + shape_str(in));
    target[static_cast<std::size_t>(infer)] = per_example / known;
  } else if (known != per_example) {
    im.fail("shape " + shape_str(sc.i) + " does not fit " + shape_str(in));
  }
  reshape_to(im, v, target);
}

}  // namespace

Mapping find_mapping(const std::string& op_type) {
  struct Entry {
    const char* op;
    Mapping map;
  };
  static const Entry kMappings[] = {
      {"Gemm", map_gemm},
      {"MatMul", map_matmul},
      {"Add", map_add},
      {"Concat", map_concat},
      {"Sub", map_sub_div},
      {"Div", map_sub_div},
      {"Relu", map_relu},
      {"Sigmoid", map_sigmoid},
      {"Tanh", map_tanh},
      {"LeakyRelu", map_leaky_relu},
      {"Softmax", map_softmax},
      {"LogSoftmax", map_log_softmax},
      {"Conv", map_conv},
      {"BatchNormalization", map_batchnorm},
      {"MaxPool", map_max_pool},
      {"AveragePool", map_average_pool},
      {"GlobalAveragePool", map_global_average_pool},
      {"Flatten", map_flatten},
      {"Reshape", map_reshape},
      {"Pad", map_pad},
  };
  for (const Entry& e : kMappings)
    if (op_type == e.op) return e.map;
  return nullptr;
}

}  // namespace plangrad::onnx_import
