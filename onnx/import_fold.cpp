// Constant folding at import: Constant, and the Shape / Gather / Unsqueeze / Squeeze /
// Concat / Cast / Slice chains exporters write to compute a Reshape's shape, plus
// element-wise arithmetic on constants. Every shape is known but the batch, which Shape
// gives as kBatchValue: carried along, never computed with.
#include <algorithm>
#include <cmath>

#include "core/errors.hpp"
#include "onnx/import.hpp"

namespace plangrad::onnx_import {
namespace {

using ConstPtr = std::shared_ptr<const Const>;

void set_const(Importer& im, int i, Const c) {
  c.source_name.clear();
  (void)count_of(c.dims, im.source() + ": node '" + im.label() + "'");
  im.set_output(i, Val{std::make_shared<const Const>(std::move(c)), "", {}, {}});
}

// An axis in [-rank, rank) as an index.
std::size_t axis_of(const Importer& im, std::int64_t axis, std::size_t rank, const char* what) {
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r) im.fail(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

std::vector<std::int64_t> ints_of(const Importer& im, const Const& c, const char* what) {
  if (!c.is_int) im.fail(std::string(what) + " must hold integers");
  for (const std::int64_t v : c.i)
    if (v == kBatchValue) im.fail(std::string(what) + " depends on the batch size");
  return c.i;
}

// Row-major strides of dims.
std::vector<std::size_t> strides_of(const Shape& dims) {
  std::vector<std::size_t> s(dims.size(), 1);
  for (std::size_t k = dims.size(); k-- > 1;) s[k - 1] = s[k] * static_cast<std::size_t>(dims[k]);
  return s;
}

// out[j] = in[source(j)], element by element, for any index map.
template <class F>
Const gather_elements(const Const& in, Shape out_dims, F&& source) {
  Const out;
  out.dims = std::move(out_dims);
  out.is_int = in.is_int;
  std::size_t n = 1;
  for (const Dim d : out.dims) n *= static_cast<std::size_t>(d);
  const std::vector<std::size_t> st = strides_of(out.dims);
  std::vector<std::size_t> idx(out.dims.size());
  (in.is_int ? out.i.resize(n) : out.f.resize(n));
  for (std::size_t j = 0; j < n; ++j) {
    std::size_t rest = j;
    for (std::size_t k = 0; k < idx.size(); ++k) idx[k] = rest / st[k], rest %= st[k];
    const std::size_t from = source(idx);
    if (in.is_int) out.i[j] = in.i[from];
    else out.f[j] = in.f[from];
  }
  return out;
}

void fold_constant(Importer& im) {
  im.only_attrs({"value", "value_float", "value_floats", "value_int", "value_ints"});
  if (im.node().attribute_size() != 1) im.fail("needs exactly one value attribute");
  const onnx::AttributeProto& a = im.node().attribute(0);
  Const c;
  if (a.name() == "value") {
    if (a.type() != onnx::AttributeProto::TENSOR) im.fail("attribute 'value' must be a tensor");
    c = read_tensor(a.t(), im.source() + ": node '" + im.label() + "' (Constant)", "");
  } else if (a.name() == "value_float" && a.type() == onnx::AttributeProto::FLOAT) {
    c.f = {a.f()};
  } else if (a.name() == "value_floats" && a.type() == onnx::AttributeProto::FLOATS) {
    c.f.assign(a.floats().begin(), a.floats().end());
    c.dims = {static_cast<Dim>(c.f.size())};
  } else if (a.name() == "value_int" && a.type() == onnx::AttributeProto::INT) {
    c.is_int = true;
    c.i = {a.i()};
  } else if (a.name() == "value_ints" && a.type() == onnx::AttributeProto::INTS) {
    c.is_int = true;
    c.i.assign(a.ints().begin(), a.ints().end());
    c.dims = {static_cast<Dim>(c.i.size())};
  } else {
    im.fail("attribute '" + a.name() + "' has the wrong type");
  }
  for (const std::int64_t v : c.i)
    if (v == kBatchValue) im.fail("value out of range");
  set_const(im, 0, std::move(c));
}

void fold_shape(Importer& im) {
  im.only_attrs({"start", "end"});
  const Val& v = im.input(0);
  Shape dims = v.constant ? v.constant->dims : v.shape;
  const auto rank = static_cast<std::int64_t>(dims.size());
  auto clamp = [&](std::int64_t a) { return std::clamp(a < 0 ? a + rank : a, std::int64_t{0}, rank); };
  const std::int64_t start = clamp(im.attr_int("start", 0)), end = clamp(im.attr_int("end", rank));
  Const c;
  c.is_int = true;
  for (std::int64_t k = start; k < end; ++k) {
    const Dim d = dims[static_cast<std::size_t>(k)];
    c.i.push_back(d == kBatchDim ? kBatchValue : d);
  }
  c.dims = {static_cast<Dim>(c.i.size())};
  set_const(im, 0, std::move(c));
}

void fold_identity(Importer& im) {
  im.only_attrs({"seed", "ratio", "training_mode"});
  im.require_only_first_output();
  // Dropout's training_mode (opset 12 on): inference only.
  if (im.node().op_type() == "Dropout" && im.has_input(2)) {
    const Const& training = im.const_input(2, "training_mode");
    if (training.size() != 1 || (training.is_int ? training.i[0] != 0 : training.f[0] != 0.f))
      im.fail("training_mode must be false: plangrad imports the inference graph");
  }
  im.set_output(0, im.input(0));
}

void fold_gather(Importer& im) {
  im.only_attrs({"axis"});
  const Const& data = im.const_input(0, "data");
  const Const& index = im.const_input(1, "indices");
  const std::vector<std::int64_t> idx = ints_of(im, index, "indices");
  if (data.dims.empty()) im.fail("data is a scalar");
  const std::size_t axis = axis_of(im, im.attr_int("axis", 0), data.dims.size(), "axis");
  const Dim len = data.dims[axis];
  Shape out_dims(data.dims.begin(), data.dims.begin() + static_cast<std::ptrdiff_t>(axis));
  out_dims.insert(out_dims.end(), index.dims.begin(), index.dims.end());
  out_dims.insert(out_dims.end(), data.dims.begin() + static_cast<std::ptrdiff_t>(axis) + 1, data.dims.end());
  for (const std::int64_t k : idx)
    if (k < -len || k >= len) im.fail("index " + std::to_string(k) + " is out of range for dimension " + std::to_string(len));
  (void)count_of(out_dims, im.source() + ": node '" + im.label() + "'");
  const std::vector<std::size_t> in_st = strides_of(data.dims), idx_st = strides_of(index.dims);
  const std::size_t q = index.dims.size();
  set_const(im, 0, gather_elements(data, out_dims, [&](const std::vector<std::size_t>& o) {
    std::size_t at = 0, from = 0;
    for (std::size_t k = 0; k < q; ++k) at += o[axis + k] * idx_st[k];
    for (std::size_t k = 0; k < axis; ++k) from += o[k] * in_st[k];
    const std::int64_t raw = idx[at];
    from += static_cast<std::size_t>(raw < 0 ? raw + len : raw) * in_st[axis];
    for (std::size_t k = axis + 1; k < data.dims.size(); ++k) from += o[k - 1 + q] * in_st[k];
    return from;
  }));
}

std::vector<std::int64_t> axes_input(Importer& im, int input, const char* attr) {
  if (im.opset() >= 13) {
    if (!im.has_input(input)) return {};
    return ints_of(im, im.const_input(input, "axes"), "axes");
  }
  return im.attr_ints(attr, {});
}

void fold_unsqueeze(Importer& im) {
  im.only_attrs({"axes"});
  Const c = im.const_input(0, "data");
  const std::vector<std::int64_t> axes = axes_input(im, 1, "axes");
  if (axes.empty()) im.fail("needs axes");
  const std::size_t rank = c.dims.size() + axes.size();
  std::vector<char> at(rank, 0);
  for (const std::int64_t a : axes) {
    const std::size_t k = axis_of(im, a, rank, "axis");
    if (at[k]) im.fail("axis " + std::to_string(a) + " is given twice");
    at[k] = 1;
  }
  Shape dims;
  std::size_t from = 0;
  for (std::size_t k = 0; k < rank; ++k) dims.push_back(at[k] ? 1 : c.dims[from++]);
  c.dims = dims;
  set_const(im, 0, std::move(c));
}

void fold_squeeze(Importer& im) {
  im.only_attrs({"axes"});
  Const c = im.const_input(0, "data");
  const std::vector<std::int64_t> axes = axes_input(im, 1, "axes");
  std::vector<char> drop(c.dims.size(), 0);
  for (const std::int64_t a : axes) {
    const std::size_t k = axis_of(im, a, c.dims.size(), "axis");
    if (c.dims[k] != 1) im.fail("axis " + std::to_string(a) + " has size " + std::to_string(c.dims[k]) + ", not 1");
    drop[k] = 1;
  }
  Shape dims;
  for (std::size_t k = 0; k < c.dims.size(); ++k)
    if (!(axes.empty() ? c.dims[k] == 1 : drop[k])) dims.push_back(c.dims[k]);
  c.dims = dims;
  set_const(im, 0, std::move(c));
}

void fold_concat(Importer& im) {
  im.only_attrs({"axis"});
  if (im.inputs() < 1) im.fail("needs inputs");
  const Const& first = im.const_input(0, "input");
  if (first.dims.empty()) im.fail("cannot concatenate scalars");
  const std::size_t axis = axis_of(im, im.attr_int("axis", 0), first.dims.size(), "axis");
  Const out;
  out.is_int = first.is_int;
  out.dims = first.dims;
  out.dims[axis] = 0;
  std::vector<const Const*> parts;
  for (int i = 0; i < im.inputs(); ++i) {
    const Const& c = im.const_input(i, "input");
    if (c.is_int != first.is_int) im.fail("inputs of different element types");
    if (c.dims.size() != first.dims.size()) im.fail("inputs of different ranks");
    for (std::size_t k = 0; k < c.dims.size(); ++k)
      if (k != axis && c.dims[k] != first.dims[k]) im.fail("inputs " + shape_str(first.dims) + " and " + shape_str(c.dims) + " differ");
    out.dims[axis] += c.dims[axis];
    parts.push_back(&c);
  }
  (void)count_of(out.dims, im.source() + ": node '" + im.label() + "'");
  std::size_t outer = 1, inner = 1;
  for (std::size_t k = 0; k < axis; ++k) outer *= static_cast<std::size_t>(out.dims[k]);
  for (std::size_t k = axis + 1; k < out.dims.size(); ++k) inner *= static_cast<std::size_t>(out.dims[k]);
  for (std::size_t o = 0; o < outer; ++o)
    for (const Const* c : parts) {
      const std::size_t run = static_cast<std::size_t>(c->dims[axis]) * inner;
      if (out.is_int) out.i.insert(out.i.end(), c->i.begin() + static_cast<std::ptrdiff_t>(o * run), c->i.begin() + static_cast<std::ptrdiff_t>((o + 1) * run));
      else out.f.insert(out.f.end(), c->f.begin() + static_cast<std::ptrdiff_t>(o * run), c->f.begin() + static_cast<std::ptrdiff_t>((o + 1) * run));
    }
  set_const(im, 0, std::move(out));
}

void fold_cast(Importer& im) {
  im.only_attrs({"to", "saturate"});
  Const c = im.const_input(0, "input");
  const std::int64_t to = im.attr_int("to", 0);
  if (to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE) {
    if (c.is_int) {
      for (const std::int64_t v : c.i) {
        if (v == kBatchValue) im.fail("a cast to float of the batch size is not folded");
        c.f.push_back(static_cast<float>(v));
      }
      c.i.clear();
      c.is_int = false;
    }
  } else if (to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32) {
    if (!c.is_int) {
      for (const float v : c.f) {
        if (!(std::fabs(v) < 9.2e18f)) im.fail("value " + std::to_string(v) + " does not fit an integer");
        c.i.push_back(static_cast<std::int64_t>(v));
      }
      c.f.clear();
      c.is_int = true;
    }
  } else {
    im.fail("a cast to element type " + std::to_string(to) + " is not folded (float, double, int32, int64 are)");
  }
  set_const(im, 0, std::move(c));
}

void fold_slice(Importer& im) {
  im.only_attrs({});
  const Const& data = im.const_input(0, "data");
  const std::vector<std::int64_t> starts = ints_of(im, im.const_input(1, "starts"), "starts");
  const std::vector<std::int64_t> ends = ints_of(im, im.const_input(2, "ends"), "ends");
  std::vector<std::int64_t> axes, steps;
  if (im.has_input(3)) axes = ints_of(im, im.const_input(3, "axes"), "axes");
  else for (std::size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<std::int64_t>(k));
  if (im.has_input(4)) steps = ints_of(im, im.const_input(4, "steps"), "steps");
  else steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    im.fail("starts, ends, axes and steps differ in length");
  const std::size_t rank = data.dims.size();
  std::vector<std::int64_t> first(rank, 0), step(rank, 1);
  Shape out_dims = data.dims;
  std::vector<char> seen(rank, 0);
  for (std::size_t j = 0; j < starts.size(); ++j) {
    const std::size_t a = axis_of(im, axes[j], rank, "axis");
    if (seen[a]) im.fail("axis " + std::to_string(axes[j]) + " is given twice");
    seen[a] = 1;
    const std::int64_t len = data.dims[a], s = steps[j];
    if (s == 0 || s == std::numeric_limits<std::int64_t>::min()) im.fail("step " + std::to_string(s));
    auto norm = [&](std::int64_t v, std::int64_t lo, std::int64_t hi) {
      if (v < 0) v = v < -len ? lo : v + len;
      return std::clamp(v, lo, hi);
    };
    std::int64_t b, e;
    if (s > 0) b = norm(starts[j], 0, len), e = norm(ends[j], 0, len);
    else b = norm(starts[j], -1, len - 1), e = norm(ends[j], -1, len - 1);
    // Counts with the step's sign; |s| and the spans are below 2^63 since len is a dim.
    const std::int64_t count = s > 0 ? (e > b ? (e - b - 1) / s + 1 : 0) : (b > e ? (b - e - 1) / -s + 1 : 0);
    first[a] = b;
    step[a] = s;
    out_dims[a] = count;
  }
  (void)count_of(out_dims, im.source() + ": node '" + im.label() + "'");
  const std::vector<std::size_t> st = strides_of(data.dims);
  set_const(im, 0, gather_elements(data, out_dims, [&](const std::vector<std::size_t>& o) {
    std::size_t from = 0;
    for (std::size_t k = 0; k < rank; ++k)
      from += static_cast<std::size_t>(first[k] + static_cast<std::int64_t>(o[k]) * step[k]) * st[k];
    return from;
  }));
}

void fold_reshape(Importer& im) {
  im.only_attrs({"allowzero"});
  Const c = im.const_input(0, "data");
  const std::vector<std::int64_t> shape = ints_of(im, im.const_input(1, "shape"), "shape");
  Shape dims;
  int infer = -1;
  std::size_t known = 1;
  for (std::size_t k = 0; k < shape.size(); ++k) {
    std::int64_t d = shape[k];
    if (d == 0 && im.attr_int("allowzero", 0) == 0) {
      if (k >= c.dims.size()) im.fail("shape entry 0 at " + std::to_string(k) + " copies no dimension");
      d = c.dims[k];
    }
    if (d == -1) {
      if (infer >= 0) im.fail("shape has two -1 entries");
      infer = static_cast<int>(k);
      d = 1;
    } else if (d < 0) {
      im.fail("shape entry " + std::to_string(d));
    }
    dims.push_back(d);
    if (d != 0) known = static_cast<std::size_t>(count_of({static_cast<Dim>(known), d}, im.source() + ": node '" + im.label() + "'"));
    else known = 0;
  }
  if (infer >= 0) {
    if (known == 0 || c.size() % known != 0) im.fail("shape does not fit " + shape_str(c.dims));
    dims[static_cast<std::size_t>(infer)] = static_cast<Dim>(c.size() / known);
  }
  if (count_of(dims, im.source()) != c.size()) im.fail("shape " + shape_str(dims) + " does not fit " + shape_str(c.dims));
  c.dims = dims;
  set_const(im, 0, std::move(c));
}

// Add, Sub, Mul, Div of constants: equal shapes, or one a single value.
template <int Kind>
void fold_arith(Importer& im) {
  im.only_attrs({});
  const Const& a = im.const_input(0, "A");
  const Const& b = im.const_input(1, "B");
  if (a.is_int != b.is_int) im.fail("inputs of different element types");
  const std::size_t na = a.size(), nb = b.size();
  if (!(a.dims == b.dims || na == 1 || nb == 1)) im.fail("folds equal shapes or a single value only, not " + shape_str(a.dims) + " and " + shape_str(b.dims));
  Const out;
  out.is_int = a.is_int;
  out.dims = na == 1 && nb != 1 ? b.dims : a.dims;
  if (na == 1 && nb == 1 && b.dims.size() > a.dims.size()) out.dims = b.dims;
  const std::size_t n = std::max(na, nb);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t ia = na == 1 ? 0 : k, ib = nb == 1 ? 0 : k;
    if (a.is_int) {
      const std::int64_t x = a.i[ia], y = b.i[ib];
      if (x == kBatchValue || y == kBatchValue) im.fail("arithmetic on the batch size is not folded");
      std::int64_t r = 0;
      bool bad = false;
      if (Kind == 0) bad = __builtin_add_overflow(x, y, &r);
      if (Kind == 1) bad = __builtin_sub_overflow(x, y, &r);
      if (Kind == 2) bad = __builtin_mul_overflow(x, y, &r);
      if (Kind == 3) {
        bad = y == 0 || (x == std::numeric_limits<std::int64_t>::min() && y == -1);
        if (!bad) r = x / y;
      }
      if (bad || r == kBatchValue) im.fail("integer overflow or division by zero");
      out.i.push_back(r);
    } else {
      const float x = a.f[ia], y = b.f[ib];
      out.f.push_back(Kind == 0 ? x + y : Kind == 1 ? x - y : Kind == 2 ? x * y : x / y);
    }
  }
  set_const(im, 0, std::move(out));
}

}  // namespace

Mapping find_fold(const std::string& op_type, bool& always) {
  struct Entry {
    const char* op;
    Mapping fold;
    bool always;
  };
  static const Entry kFolds[] = {
      {"Constant", fold_constant, true},    {"Shape", fold_shape, true},
      {"Gather", fold_gather, false},       {"Unsqueeze", fold_unsqueeze, false},
      {"Squeeze", fold_squeeze, false},     {"Concat", fold_concat, false},
      {"Cast", fold_cast, false},           {"Slice", fold_slice, false},
      {"Reshape", fold_reshape, false},     {"Identity", fold_identity, true},
      {"Dropout", fold_identity, true},     {"Add", fold_arith<0>, false},
      {"Sub", fold_arith<1>, false},        {"Mul", fold_arith<2>, false},
      {"Div", fold_arith<3>, false},
  };
  for (const Entry& e : kFolds)
    if (op_type == e.op) {
      always = e.always;
      return e.fold;
    }
  return nullptr;
}

}  // namespace plangrad::onnx_import
