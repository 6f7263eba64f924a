#include "ops/layer_norm.hpp"

#include <cmath>

#include "core/checked.hpp"
#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

// x [..., D] (rank >= 1, D >= 1), gamma [D], beta [D] -> y of x's shape; eps finite and
// positive (a constant row has variance 0). The row count goes through checked arithmetic:
// it sizes the workspace.
std::vector<Shape> layer_norm_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  const Shape& x = in[0];
  expect_min_rank(x, 1, "x");
  if (x.back() < 1) throw ShapeError("x " + shape_str(x) + ": layer_norm needs a last dimension of 1 or more");
  const Shape row{x.back()};
  expect_same(in[1], row, "gamma", "x's last dimension");
  expect_same(in[2], row, "beta", "x's last dimension");
  const double eps = attrs.get_float("eps");
  if (!(eps > 0) || !std::isfinite(eps))
    throw ShapeError("eps " + attr_str(AttrValue{eps}) + " must be finite and positive");
  return one_output(x);
}

// The number of rows: every dimension of x but the last.
std::size_t rows_of(const Shape& x) {
  Dim r = 1;
  for (std::size_t i = 0; i + 1 < x.size(); ++i) r = mul_dims(r, x[i]);
  return static_cast<std::size_t>(r);
}

// The backward's scratch: each row's mean and 1/sigma, computed in its first pass and read
// by the column sums of its second.
std::size_t layer_norm_workspace(const std::vector<Shape>& in, const Attrs&) {
  return mul_sizes(2, rows_of(in[0]));
}

// One row's statistics, in double: the mean and 1 / sqrt(var + eps) with the biased
// variance (divided by D), as PyTorch's. Two passes (mean, then squared deviations), so
// the variance does not cancel.
struct RowStats {
  double mean, rstd;
};
template <class T>
RowStats row_stats(const T* xr, std::size_t D, double eps) {
  double sum = 0;
  for (std::size_t d = 0; d < D; ++d) sum += static_cast<double>(xr[d]);
  const double mean = sum / static_cast<double>(D);
  double sq = 0;
  for (std::size_t d = 0; d < D; ++d) {
    const double c = static_cast<double>(xr[d]) - mean;
    sq += c * c;
  }
  return {mean, 1.0 / std::sqrt(sq / static_cast<double>(D) + eps)};
}

// y[r, d] = gamma[d] xhat[r, d] + beta[d],  xhat[r, d] = (x[r, d] - mean_r) / sqrt(var_r + eps)
// mean_r and var_r over the row's D elements (biased variance), in double; xhat is
// rounded to T once before the gain and bias.
template <class T>
void layer_norm_forward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  const T* gamma = a.in[1].data;
  const T* beta = a.in[2].data;
  T* y = a.out[0].data;
  const double eps = a.attrs->get_float("eps");
  const std::size_t D = a.in[1].size(), R = a.out[0].size() / D;
  for (std::size_t r = 0; r < R; ++r) {
    const T* xr = x + r * D;
    T* yr = y + r * D;
    const RowStats s = row_stats(xr, D, eps);
    for (std::size_t d = 0; d < D; ++d) {
      const T xhat = static_cast<T>((static_cast<double>(xr[d]) - s.mean) * s.rstd);
      yr[d] = gamma[d] * xhat + beta[d];
    }
  }
}

// With g[r, d] = dy[r, d] gamma[d] (the gradient reaching xhat):
//   dx[r, d]   = rstd_r (g[r, d] - (1/D) sum_k g[r, k] - xhat[r, d] (1/D) sum_k g[r, k] xhat[r, k])
//   dgamma[d]  = sum_r dy[r, d] xhat[r, d]
//   dbeta[d]   = sum_r dy[r, d]
// The statistics are recomputed from x (the backward reads x anyway; nothing is saved).
// First pass, row by row: the statistics into the workspace and dx, with the row sums in
// double. Second pass, column by column: dgamma and dbeta, each sum over the rows in
// double (xhat from the workspace's statistics, rounded to T there).
template <class T>
void layer_norm_backward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  const T* gamma = a.in[1].data;
  const T* dy = a.d_out[0].data;
  const double eps = a.attrs->get_float("eps");
  const std::size_t D = a.in[1].size(), R = a.d_out[0].size() / D;
  T* mean = a.workspace;
  T* rstd = a.workspace + R;
  T* dx = a.d_in[0].data;
  const bool acc_x = a.accumulates(0);
  const double inv_d = 1.0 / static_cast<double>(D);
  for (std::size_t r = 0; r < R; ++r) {
    const T* xr = x + r * D;
    const T* dyr = dy + r * D;
    const RowStats s = row_stats(xr, D, eps);
    mean[r] = static_cast<T>(s.mean);
    rstd[r] = static_cast<T>(s.rstd);
    if (!dx) continue;
    double sum_g = 0, sum_gx = 0;
    for (std::size_t d = 0; d < D; ++d) {
      const double g = static_cast<double>(dyr[d]) * static_cast<double>(gamma[d]);
      sum_g += g;
      sum_gx += g * ((static_cast<double>(xr[d]) - s.mean) * s.rstd);
    }
    const double mean_g = sum_g * inv_d, mean_gx = sum_gx * inv_d;
    T* dxr = dx + r * D;
    for (std::size_t d = 0; d < D; ++d) {
      const double xhat = (static_cast<double>(xr[d]) - s.mean) * s.rstd;
      const double g = static_cast<double>(dyr[d]) * static_cast<double>(gamma[d]);
      const T v = static_cast<T>(s.rstd * (g - mean_g - xhat * mean_gx));
      dxr[d] = acc_x ? dxr[d] + v : v;
    }
  }
  T* dgamma = a.d_in[1].data;
  T* dbeta = a.d_in[2].data;
  for (std::size_t d = 0; d < D; ++d) {
    double sum_dyx = 0, sum_dy = 0;
    for (std::size_t r = 0; r < R; ++r) {
      const T xhat = (x[r * D + d] - mean[r]) * rstd[r];
      sum_dyx += static_cast<double>(dy[r * D + d]) * static_cast<double>(xhat);
      sum_dy += static_cast<double>(dy[r * D + d]);
    }
    if (dgamma) dgamma[d] = a.accumulates(1) ? dgamma[d] + static_cast<T>(sum_dyx) : static_cast<T>(sum_dyx);
    if (dbeta) dbeta[d] = a.accumulates(2) ? dbeta[d] + static_cast<T>(sum_dy) : static_cast<T>(sum_dy);
  }
}

}  // namespace

const OpDef& layer_norm_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "layer_norm";
    d.inputs = {"x", "gamma", "beta"};
    d.outputs = {"y"};
    d.attrs = {{"eps", AttrType::Float, false, 1e-5}};
    d.shape = layer_norm_shape;
    d.differentiable = {true, true, true};
    // x for the statistics and xhat, gamma for dx; beta's gradient needs only dy.
    d.backward_reads_in = {true, true, false};
    d.backward_reads_out = {false};
    d.workspace = layer_norm_workspace;
    PLANGRAD_SET_KERNELS(d, layer_norm_forward, layer_norm_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
