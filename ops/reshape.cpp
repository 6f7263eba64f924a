#include "ops/reshape.hpp"

#include <algorithm>

#include "core/checked.hpp"
#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

// The product of x's dimensions from `first` on; each must be positive (only the leading
// batch dimension may be symbolic).
Dim trailing_numel(const Shape& x, std::size_t first) {
  Dim n = 1;
  for (std::size_t i = first; i < x.size(); ++i) {
    if (x[i] <= 0)
      throw ShapeError("x " + shape_str(x) + " must have positive dimensions after the batch");
    n = mul_dims(n, x[i]);
  }
  return n;
}

std::vector<Shape> flatten_shape(const std::vector<Shape>& in, const Attrs&) {
  expect_min_rank(in[0], 2, "x");
  return one_output({in[0][0], trailing_numel(in[0], 1)});
}

std::vector<Shape> reshape_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  const Shape& x = in[0];
  const std::vector<std::int64_t>& target = attrs.get_ints("shape");
  std::ptrdiff_t inferred = -1;
  Dim known = 1;  // the product of the target's given entries
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      if (inferred >= 0)
        throw ShapeError("shape " + ints_str(target) + " may infer one dimension (-1), not two");
      inferred = static_cast<std::ptrdiff_t>(i);
    } else if (target[i] <= 0) {
      throw ShapeError("shape " + ints_str(target) + " must have positive entries or one -1");
    } else {
      known = mul_dims(known, target[i]);
    }
  }
  Shape out(target.begin(), target.end());
  const bool symbolic_batch = !x.empty() && x[0] == kBatchDim;
  const Dim rest = trailing_numel(x, symbolic_batch ? 1 : 0);
  if (symbolic_batch) {
    if (inferred != 0 || known != rest)
      throw ShapeError("shape " + ints_str(target) + " does not keep the batch of x " +
                       shape_str(x) + ": with a symbolic batch it must be [-1, ...] with " +
                       std::to_string(rest) + " elements per sample");
    out[0] = kBatchDim;
    return one_output(std::move(out));
  }
  if (inferred >= 0) {
    if (rest % known != 0)
      throw ShapeError("shape " + ints_str(target) + " does not fit x " + shape_str(x) + " (" +
                       std::to_string(rest) + " elements)");
    out[static_cast<std::size_t>(inferred)] = rest / known;
  } else if (known != rest) {
    throw ShapeError("shape " + ints_str(target) + " has " + std::to_string(known) +
                     " elements but x " + shape_str(x) + " has " + std::to_string(rest));
  }
  return one_output(std::move(out));
}

// flatten / reshape: x[n] -> y[n]  (same elements, another shape)
// When the planner runs it in place, y is x and there is nothing to move.
template <class T>
void copy_forward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  if (x != y) std::copy(x, x + a.in[0].size(), y);
}
// y = x (re-shaped)  =>  dx = dy (re-shaped); nothing to move when dx is dy (the planner
// aliases them only when dx is overwritten)
template <class T>
void copy_backward(const OpArgs<T>& a) {
  if (!a.d_in[0]) return;
  const T* dy = a.d_out[0].data;
  if (a.d_in[0].data == dy && !a.accumulates(0)) return;
  write_grad(a.d_in[0], a.accumulates(0), [=](std::size_t i) { return dy[i]; });
}

OpDef view_op(const char* name, ShapeFn shape) {
  OpDef d;
  d.name = name;
  d.inputs = {"x"};
  d.outputs = {"y"};
  d.shape = shape;
  d.differentiable = {true};
  d.backward_reads_in = {false};
  d.backward_reads_out = {false};
  d.inplace = true;
  d.backward_inplace = true;
  PLANGRAD_SET_KERNELS(d, copy_forward, copy_backward);
  return d;
}

}  // namespace

const OpDef& flatten_op() {
  static const OpDef def = view_op("flatten", flatten_shape);
  return def;
}

const OpDef& reshape_op() {
  static const OpDef def = [] {
    OpDef d = view_op("reshape", reshape_shape);
    d.attrs = {{"shape", AttrType::Ints, true, std::vector<std::int64_t>{}}};
    return d;
  }();
  return def;
}

}  // namespace plangrad
