#include "ops/softmax.hpp"

#include <cmath>

#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

std::vector<Shape> softmax_shape(const std::vector<Shape>& in, const Attrs&) {
  return last_axis_rows_shape(in[0], "softmax");
}

// y[r, c] = exp(x[r, c] - m_r) / sum_k exp(x[r, k] - m_r),  m_r = max_k x[r, k]
// Subtracting the row maximum keeps every exponent <= 0 (no overflow) and one term of the
// sum at 1 (no division by 0). The sum is taken in double, so a float row of any length
// rounds once, in the division. Each row reads x before writing y at the same index, so y
// may be x's memory. A row with a NaN, or with +inf (inf - inf), or all -inf, is NaN
// throughout, as in PyTorch.
template <class T>
void softmax_forward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  const std::size_t C = row_length(a.out[0]), R = a.out[0].size() / C;
  for (std::size_t r = 0; r < R; ++r) {
    const T* xr = x + r * C;
    T* yr = y + r * C;
    T m = xr[0];
    for (std::size_t c = 1; c < C; ++c) m = xr[c] > m ? xr[c] : m;
    double sum = 0;
    for (std::size_t c = 0; c < C; ++c) {
      const T e = std::exp(xr[c] - m);
      yr[c] = e;
      sum += static_cast<double>(e);
    }
    for (std::size_t c = 0; c < C; ++c) yr[c] = static_cast<T>(static_cast<double>(yr[c]) / sum);
  }
}

// y = softmax(x) per row  =>  dx[r, c] = y[r, c] (dy[r, c] - sum_k dy[r, k] y[r, k])
// (the Jacobian diag(y) - y y^T applied to dy). Reads y only; each row's sum is taken
// before any of its dx is written, so dx may be dy's memory.
template <class T>
void softmax_backward(const OpArgs<T>& a) {
  if (!a.d_in[0]) return;
  const T* y = a.out[0].data;
  const T* dy = a.d_out[0].data;
  T* dx = a.d_in[0].data;
  const bool acc = a.accumulates(0);
  const std::size_t C = row_length(a.out[0]), R = a.out[0].size() / C;
  for (std::size_t r = 0; r < R; ++r) {
    const T* yr = y + r * C;
    const T* dyr = dy + r * C;
    T* dxr = dx + r * C;
    double dot = 0;
    for (std::size_t c = 0; c < C; ++c) dot += static_cast<double>(dyr[c]) * static_cast<double>(yr[c]);
    const T s = static_cast<T>(dot);
    if (acc) {
      for (std::size_t c = 0; c < C; ++c) dxr[c] += yr[c] * (dyr[c] - s);
    } else {
      for (std::size_t c = 0; c < C; ++c) dxr[c] = yr[c] * (dyr[c] - s);
    }
  }
}

}  // namespace

const OpDef& softmax_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "softmax";
    d.inputs = {"x"};
    d.outputs = {"y"};
    d.shape = softmax_shape;
    d.differentiable = {true};
    d.backward_reads_in = {false};
    d.backward_reads_out = {true};
    d.inplace = true;
    d.backward_inplace = true;
    PLANGRAD_SET_KERNELS(d, softmax_forward, softmax_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
