#include "ops/leaky_relu.hpp"

#include <cmath>

#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

// Any shape; y has x's shape. alpha must be finite and >= 0: the backward reads the sign
// of y, which is the sign of x only for alpha >= 0 (that is what lets y overwrite x).
std::vector<Shape> leaky_relu_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  const double alpha = attrs.get_float("alpha");
  if (!(alpha >= 0) || !std::isfinite(alpha))
    throw ShapeError("alpha " + attr_str(AttrValue{alpha}) + " must be finite and 0 or more");
  return one_output(in[0]);
}

// y = x if x > 0, else alpha x. A NaN input gives NaN (alpha NaN), as in PyTorch.
template <class T>
void leaky_relu_forward(const OpArgs<T>& a) {
  const T alpha = static_cast<T>(a.attrs->get_float("alpha"));
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  const std::size_t n = a.out[0].size();
  for (std::size_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : alpha * x[i];
}

// y = x if x > 0, else alpha x  =>  dx = dy where x > 0, alpha dy elsewhere (at x = 0 too,
// as PyTorch). Written on y: with alpha >= 0, y > 0 exactly where x > 0 (alpha 0: y is 0
// for x <= 0, which takes the alpha branch as well). Reads y only, element by element,
// so y may be x's memory and dx dy's.
template <class T>
void leaky_relu_backward(const OpArgs<T>& a) {
  if (!a.d_in[0]) return;
  const T alpha = static_cast<T>(a.attrs->get_float("alpha"));
  const T* y = a.out[0].data;
  const T* dy = a.d_out[0].data;
  write_grad(a.d_in[0], a.accumulates(0), [=](std::size_t i) { return y[i] > T(0) ? dy[i] : alpha * dy[i]; });
}

}  // namespace

const OpDef& leaky_relu_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "leaky_relu";
    d.inputs = {"x"};
    d.outputs = {"y"};
    d.attrs = {{"alpha", AttrType::Float, false, 0.01}};
    d.shape = leaky_relu_shape;
    d.differentiable = {true};
    d.backward_reads_in = {false};
    d.backward_reads_out = {true};
    d.inplace = true;
    d.backward_inplace = true;
    PLANGRAD_SET_KERNELS(d, leaky_relu_forward, leaky_relu_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
