#include "ops/log_softmax.hpp"

#include <cmath>

#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

std::vector<Shape> log_softmax_shape(const std::vector<Shape>& in, const Attrs&) {
  return last_axis_rows_shape(in[0], "log_softmax");
}

// y[r, c] = (x[r, c] - m_r) - log sum_k exp(x[r, k] - m_r),  m_r = max_k x[r, k]
// Subtracting the row maximum keeps every exponent <= 0 and one term of the sum at 1, so
// the log's argument lies in [1, C]: no overflow, no log 0. The sum and its log are taken
// in double. Each element of x is read before y is written at the same index, and the
// row's sum is complete before the first write, so y may be x's memory. A row with a NaN,
// with +inf, or all -inf is NaN throughout, as in PyTorch.
template <class T>
void log_softmax_forward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  const std::size_t C = row_length(a.out[0]), R = a.out[0].size() / C;
  for (std::size_t r = 0; r < R; ++r) {
    const T* xr = x + r * C;
    T* yr = y + r * C;
    T m = xr[0];
    for (std::size_t c = 1; c < C; ++c) m = xr[c] > m ? xr[c] : m;
    double sum = 0;
    for (std::size_t c = 0; c < C; ++c) sum += static_cast<double>(std::exp(xr[c] - m));
    const double log_sum = std::log(sum);
    for (std::size_t c = 0; c < C; ++c) yr[c] = static_cast<T>(static_cast<double>(xr[c] - m) - log_sum);
  }
}

// y = log_softmax(x) per row  =>  dx[r, c] = dy[r, c] - exp(y[r, c]) sum_k dy[r, k]
// (the Jacobian I - 1 softmax(x)^T applied to dy; exp(y) is softmax(x)). Reads y only;
// each row's sum is taken before any of its dx is written, so dx may be dy's memory.
template <class T>
void log_softmax_backward(const OpArgs<T>& a) {
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
    double sum = 0;
    for (std::size_t c = 0; c < C; ++c) sum += static_cast<double>(dyr[c]);
    const T s = static_cast<T>(sum);
    if (acc) {
      for (std::size_t c = 0; c < C; ++c) dxr[c] += dyr[c] - std::exp(yr[c]) * s;
    } else {
      for (std::size_t c = 0; c < C; ++c) dxr[c] = dyr[c] - std::exp(yr[c]) * s;
    }
  }
}

}  // namespace

const OpDef& log_softmax_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "log_softmax";
    d.inputs = {"x"};
    d.outputs = {"y"};
    d.shape = log_softmax_shape;
    d.differentiable = {true};
    d.backward_reads_in = {false};
    d.backward_reads_out = {true};
    d.inplace = true;
    d.backward_inplace = true;
    PLANGRAD_SET_KERNELS(d, log_softmax_forward, log_softmax_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
