#include "ops/concat.hpp"

#include "core/checked.hpp"
#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

// The axis as an index into a shape of `rank` dimensions (negative counts from the end).
std::size_t axis_of(const Attrs& attrs, std::size_t rank) {
  const std::int64_t axis = attrs.get_int("axis");
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r)
    throw ShapeError("axis " + std::to_string(axis) + " is outside the inputs' rank " + std::to_string(rank));
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

// Every input of x_0's rank, equal to it but along the axis; y sums the axis.
std::vector<Shape> concat_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  const Shape& first = in[0];
  if (first.empty()) throw ShapeError("inputs must have rank 1 or more, got x0 " + shape_str(first));
  const std::size_t axis = axis_of(attrs, first.size());
  Shape out = first;
  for (std::size_t i = 1; i < in.size(); ++i) {
    bool same = in[i].size() == first.size();
    for (std::size_t d = 0; same && d < first.size(); ++d) same = d == axis || in[i][d] == first[d];
    if (!same)
      throw ShapeError("x" + std::to_string(i) + " " + shape_str(in[i]) + " does not match x0 " + shape_str(first) +
                       " but along axis " + std::to_string(axis));
    out[axis] = add_dims(out[axis], in[i][axis]);
  }
  return one_output(std::move(out));
}

// The rows before the axis (outer) and the elements of one slice after it (inner).
struct Blocks {
  std::size_t outer = 1, inner = 1;
};
Blocks blocks_of(const Shape& s, std::size_t axis) {
  Blocks b;
  for (std::size_t d = 0; d < axis; ++d) b.outer *= static_cast<std::size_t>(s[d]);
  for (std::size_t d = axis + 1; d < s.size(); ++d) b.inner *= static_cast<std::size_t>(s[d]);
  return b;
}

// y[o, offset_i + j, :] = x_i[o, j, :]: per outer row, each input's block in turn.
template <class T>
void concat_forward(const OpArgs<T>& a) {
  const std::size_t axis = axis_of(*a.attrs, a.out[0].shape.size());
  const Blocks b = blocks_of(a.out[0].shape, axis);
  const std::size_t row = static_cast<std::size_t>(a.out[0].shape[axis]) * b.inner;
  T* y = a.out[0].data;
  std::size_t offset = 0;
  for (const TensorRef<T>& x : a.in) {
    const std::size_t block = static_cast<std::size_t>(x.shape[axis]) * b.inner;
    for (std::size_t o = 0; o < b.outer; ++o) {
      const T* src = x.data + o * block;
      T* dst = y + o * row + offset;
      for (std::size_t j = 0; j < block; ++j) dst[j] = src[j];
    }
    offset += block;
  }
}

// A copy forward, so the gradient of x_i is its block of dy: dx_i[o, j, :] = dy[o, offset_i + j, :].
template <class T>
void concat_backward(const OpArgs<T>& a) {
  const std::size_t axis = axis_of(*a.attrs, a.out[0].shape.size());
  const Blocks b = blocks_of(a.out[0].shape, axis);
  const std::size_t row = static_cast<std::size_t>(a.out[0].shape[axis]) * b.inner;
  const T* dy = a.d_out[0].data;
  std::size_t offset = 0;
  for (std::size_t i = 0; i < a.in.size(); ++i) {
    const std::size_t block = static_cast<std::size_t>(a.in[i].shape[axis]) * b.inner;
    if (a.d_in[i]) {
      const T* base = dy + offset;
      write_grad(a.d_in[i], a.accumulates(i),
                 [=](std::size_t k) { return base[(k / block) * row + k % block]; });
    }
    offset += block;
  }
}

}  // namespace

const OpDef& concat_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "concat";
    d.inputs = {"x"};
    d.outputs = {"y"};
    d.variadic = true;
    d.attrs = {{"axis", AttrType::Int, false, std::int64_t{1}}};
    d.shape = concat_shape;
    d.differentiable = {true};
    d.backward_reads_in = {false};
    d.backward_reads_out = {false};
    PLANGRAD_SET_KERNELS(d, concat_forward, concat_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
