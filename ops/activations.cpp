#include "ops/activations.hpp"

#include <cmath>

#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

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
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  const std::size_t n = a.out[0].size();
  for (std::size_t i = 0; i < n; ++i) y[i] = T(1) / (T(1) + std::exp(-x[i]));
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
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  const std::size_t n = a.out[0].size();
  for (std::size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
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
