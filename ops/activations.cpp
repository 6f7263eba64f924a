#include "ops/activations.hpp"

#include <algorithm>
#include <cmath>

// GCC 12 warns inside its own AVX-512 intrinsics once they are inlined (the undefined
// pass-through operand of _mm512_undefined_ps; GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <xsimd/xsimd.hpp>

#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

// y[i] = f(x[i]) with f written on xsimd batches (AVX-512 with -march=native here). The
// tail goes through the same batch function from a padded copy, so every element gets
// the same formula, whatever its position: results do not depend on the tensor's length.
template <class T, class F>
void map_batches(const T* x, T* y, std::size_t n, F&& f) {
  using Batch = xsimd::batch<T>;
  constexpr std::size_t W = Batch::size;
  std::size_t i = 0;
  for (; i + W <= n; i += W) f(Batch::load_unaligned(x + i)).store_unaligned(y + i);
  if (i < n) {
    T tail[W] = {};
    std::copy(x + i, x + n, tail);
    f(Batch::load_unaligned(tail)).store_unaligned(tail);
    std::copy(tail, tail + (n - i), y + i);
  }
}

std::vector<Shape> same_shape(const std::vector<Shape>& in, const Attrs&) { return {in[0]}; }

// Every activation here has a backward that reads only its output y, so the planner may
// run it in place (y over x) and write dx over dy.
OpDef activation(const char* name) {
  OpDef d;
  d.name = name;
  d.inputs = {"x"};
  d.outputs = {"y"};
  d.shape = same_shape;
  d.differentiable = {true};
  d.backward_reads_in = {false};
  d.backward_reads_out = {true};
  d.inplace = true;
  d.backward_inplace = true;
  return d;
}

// relu: x[n] -> y[n]
template <class T>
void relu_forward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  const std::size_t n = a.out[0].size();
  for (std::size_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}
// y = max(x, 0)  =>  dx = dy * [y > 0]   (the gradient at x == 0 is taken as 0)
template <class T>
void relu_backward(const OpArgs<T>& a) {
  const T* y = a.out[0].data;
  const T* dy = a.d_out[0].data;
  write_grad(a.d_in[0], a.accumulates(0), [=](std::size_t i) { return y[i] > T(0) ? dy[i] : T(0); });
}

// sigmoid: x[n] -> y[n]
template <class T>
void sigmoid_forward(const OpArgs<T>& a) {
  map_batches(a.in[0].data, a.out[0].data, a.out[0].size(),
              [](const xsimd::batch<T>& x) {
                const xsimd::batch<T> one(T(1));
                return one / (one + xsimd::exp(-x));
              });
}
// y = 1 / (1 + exp(-x))  =>  dx = dy * y * (1 - y)
template <class T>
void sigmoid_backward(const OpArgs<T>& a) {
  const T* y = a.out[0].data;
  const T* dy = a.d_out[0].data;
  write_grad(a.d_in[0], a.accumulates(0), [=](std::size_t i) { return dy[i] * y[i] * (T(1) - y[i]); });
}

// tanh: x[n] -> y[n]
template <class T>
void tanh_forward(const OpArgs<T>& a) {
  map_batches(a.in[0].data, a.out[0].data, a.out[0].size(), [](const xsimd::batch<T>& x) { return xsimd::tanh(x); });
}
// y = tanh(x)  =>  dx = dy * (1 - y^2)
template <class T>
void tanh_backward(const OpArgs<T>& a) {
  const T* y = a.out[0].data;
  const T* dy = a.d_out[0].data;
  write_grad(a.d_in[0], a.accumulates(0), [=](std::size_t i) { return dy[i] * (T(1) - y[i] * y[i]); });
}

}  // namespace

const OpDef& relu_op() {
  static const OpDef def = [] {
    OpDef d = activation("relu");
    PLANGRAD_SET_KERNELS(d, relu_forward, relu_backward);
    return d;
  }();
  return def;
}

const OpDef& sigmoid_op() {
  static const OpDef def = [] {
    OpDef d = activation("sigmoid");
    PLANGRAD_SET_KERNELS(d, sigmoid_forward, sigmoid_backward);
    return d;
  }();
  return def;
}

const OpDef& tanh_op() {
  static const OpDef def = [] {
    OpDef d = activation("tanh");
    PLANGRAD_SET_KERNELS(d, tanh_forward, tanh_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
