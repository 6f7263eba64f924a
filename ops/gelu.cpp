#include "ops/gelu.hpp"

#include <cmath>

#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

std::vector<Shape> gelu_shape(const std::vector<Shape>& in, const Attrs&) { return one_output(in[0]); }

// The constants of PyTorch's tanh approximation, in the order its kernel applies them.
template <class T>
constexpr T kSqrt2OverPi = T(0.7978845608028654);  // sqrt(2 / pi)
template <class T>
constexpr T kCubic = T(0.044715);

// y = x/2 (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
// std::tanh saturates to +-1 for large |u|, so y is exactly x (x > 0) or -0/0 (x < 0)
// far out, and x^3 overflowing to +-inf still gives those limits. Reads x[i] before
// writing y[i], so y may be x's memory (but the backward needs x: see the OpDef).
template <class T>
void gelu_forward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  const std::size_t n = a.out[0].size();
  for (std::size_t i = 0; i < n; ++i) {
    const T v = x[i];
    const T u = kSqrt2OverPi<T> * (v + kCubic<T> * (v * v * v));
    y[i] = T(0.5) * v * (T(1) + std::tanh(u));
  }
}

// y = x/2 (1 + t),  t = tanh(u),  u = k (x + c x^3),  k = sqrt(2/pi), c = 0.044715
// =>  dy/dx = (1 + t)/2 + x/2 (1 - t^2) k (1 + 3 c x^2),   dx = dy * dy/dx.
// Reads x and dy element by element, so dx may be dy's memory.
template <class T>
void gelu_backward(const OpArgs<T>& a) {
  if (!a.d_in[0]) return;
  const T* x = a.in[0].data;
  const T* dy = a.d_out[0].data;
  write_grad(a.d_in[0], a.accumulates(0), [=](std::size_t i) {
    const T v = x[i];
    const T t = std::tanh(kSqrt2OverPi<T> * (v + kCubic<T> * (v * v * v)));
    const T du = kSqrt2OverPi<T> * (T(1) + T(3) * kCubic<T> * (v * v));
    const T sech2 = T(1) - t * t;
    // Where tanh has saturated the second term is 0; written out, it would be 0 * inf = NaN
    // once x^2 overflows (PyTorch's gradient is NaN there).
    const T second = sech2 == T(0) ? T(0) : T(0.5) * v * sech2 * du;
    return dy[i] * (T(0.5) * (T(1) + t) + second);
  });
}

}  // namespace

const OpDef& gelu_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "gelu";
    d.inputs = {"x"};
    d.outputs = {"y"};
    d.shape = gelu_shape;
    d.differentiable = {true};
    d.backward_reads_in = {true};
    d.backward_reads_out = {false};
    d.inplace = false;  // the backward reads x
    d.backward_inplace = true;
    PLANGRAD_SET_KERNELS(d, gelu_forward, gelu_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
