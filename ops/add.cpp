#include "ops/add.hpp"

#include <algorithm>

#include "kernels/bias_rows.hpp"
#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

std::vector<Shape> add_bias_shape(const std::vector<Shape>& in, const Attrs&) {
  expect_min_rank(in[0], 1, "x");
  expect_rank(in[1], 1, "bias");
  if (in[1][0] != in[0].back())
    throw ShapeError("bias " + shape_str(in[1]) + " does not match the last dimension of x " +
                     shape_str(in[0]));
  return one_output(in[0]);
}

// add_bias: x[R,F] + b[F] -> y[R,F]   (R: the product of all leading dimensions)
template <class T>
void add_bias_forward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  const std::size_t F = static_cast<std::size_t>(a.in[1].dim(0)), R = a.out[0].size() / F;
  bias_rows::forward(a.in[1].data, R, F, [=](std::size_t at, std::size_t rows, std::size_t n, const T* bias) {
    for (std::size_t r = 0; r < rows; ++r, at += n)
      for (std::size_t f = 0; f < n; ++f) y[at + f] = x[at + f] + bias[f];
  });
}
// y[r,f] = x[r,f] + b[f]  =>  dx = dy,  db[f] = sum_r dy[r,f]
template <class T>
void add_bias_backward(const OpArgs<T>& a) {
  const T* dy = a.d_out[0].data;
  // dx is dy: nothing to write when the planner has put dx over dy (it then overwrites)
  if (a.d_in[0] && !(a.d_in[0].data == dy && !a.accumulates(0)))
    write_grad(a.d_in[0], a.accumulates(0), [=](std::size_t i) { return dy[i]; });
  if (a.d_in[1]) {
    const std::size_t F = a.d_in[1].size(), R = a.d_out[0].size() / F;
    bias_rows::column_sums(a.d_in[1].data, a.accumulates(1), R, F,
                           [=](std::size_t at, std::size_t, std::size_t) { return dy + at; });
  }
}

std::vector<Shape> add_shape(const std::vector<Shape>& in, const Attrs&) {
  expect_same(in[0], in[1], "a", "b");
  return one_output(in[0]);
}

// add: a[n] + b[n] -> y[n]
template <class T>
void add_forward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  const T* z = a.in[1].data;
  T* y = a.out[0].data;
  const std::size_t n = a.out[0].size();
  for (std::size_t i = 0; i < n; ++i) y[i] = x[i] + z[i];
}
// y = a + b  =>  da = dy,  db = dy
template <class T>
void add_backward(const OpArgs<T>& a) {
  const T* dy = a.d_out[0].data;
  for (std::size_t k = 0; k < 2; ++k)
    if (a.d_in[k]) write_grad(a.d_in[k], a.accumulates(k), [=](std::size_t i) { return dy[i]; });
}

}  // namespace

const OpDef& add_bias_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "add_bias";
    d.bias_add = true;
    d.inputs = {"x", "bias"};
    d.outputs = {"y"};
    d.shape = add_bias_shape;
    d.differentiable = {true, true};
    d.backward_reads_in = {false, false};
    d.backward_reads_out = {false};
    d.inplace = true;
    d.backward_inplace = true;
    PLANGRAD_SET_KERNELS(d, add_bias_forward, add_bias_backward);
    return d;
  }();
  return def;
}

const OpDef& add_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "add";
    d.inputs = {"a", "b"};
    d.outputs = {"y"};
    d.shape = add_shape;
    d.differentiable = {true, true};
    d.backward_reads_in = {false, false};
    d.backward_reads_out = {false};
    d.inplace = true;
    d.backward_inplace = true;
    PLANGRAD_SET_KERNELS(d, add_forward, add_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
