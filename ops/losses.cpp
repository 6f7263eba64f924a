#include "ops/losses.hpp"

#include <algorithm>
#include <cmath>

#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

std::vector<Shape> same_shapes_to_scalar(const std::vector<Shape>& in, const Attrs&) {
  expect_same(in[0], in[1], "prediction", "target");
  return one_output(Shape{});
}

// mse_loss: p[n], t[n] -> L[]
template <class T>
void mse_forward(const OpArgs<T>& a) {
  const T* p = a.in[0].data;
  const T* t = a.in[1].data;
  const std::size_t n = a.in[0].size();
  double sum = 0;  // a loss is a long reduction: summed in double, like every one
  for (std::size_t i = 0; i < n; ++i) sum += static_cast<double>((p[i] - t[i]) * (p[i] - t[i]));
  a.out[0][0] = static_cast<T>(sum / static_cast<double>(n));
}
// L = sum_i (p_i - t_i)^2 / n  =>  dp_i = dL * 2 (p_i - t_i) / n,  dt_i = -dp_i
template <class T>
void mse_backward(const OpArgs<T>& a) {
  const T* p = a.in[0].data;
  const T* t = a.in[1].data;
  const T scale = a.d_out[0][0] * T(2) / T(a.in[0].size());
  if (a.d_in[0]) write_grad(a.d_in[0], a.accumulates(0), [=](std::size_t i) { return scale * (p[i] - t[i]); });
  if (a.d_in[1]) write_grad(a.d_in[1], a.accumulates(1), [=](std::size_t i) { return scale * (t[i] - p[i]); });
}

std::vector<Shape> sce_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  // Absent when a caller passes the attributes unnormalized (the default, 0).
  const double eps = attrs.find("label_smoothing") ? attrs.get_float("label_smoothing") : 0.0;
  if (!(eps >= 0 && eps <= 1))
    throw ShapeError("label_smoothing " + attr_str(AttrValue{eps}) + " must be in [0, 1]");
  expect_rank(in[0], 2, "logits");
  expect_rank(in[1], 1, "labels");
  if (in[1][0] != in[0][0])
    throw ShapeError("labels " + shape_str(in[1]) + " do not match the batch of logits " +
                     shape_str(in[0]));
  return one_output(Shape{});
}

// Class indices arrive as T; anything but an integer in [0, C) is bad data.
template <class T>
std::size_t class_index(T label, std::size_t row, std::size_t C) {
  if (!(label >= T(0) && label < T(C)) || label != std::floor(label))
    throw DataError("softmax_cross_entropy: label " + std::to_string(static_cast<double>(label)) +
                    " at row " + std::to_string(row) + " is not a class index in [0, " +
                    std::to_string(C) + ")");
  return static_cast<std::size_t>(label);
}

// Row r's log-sum-exp, shifted by the row maximum so that exp never overflows.
template <class T>
T log_sum_exp(const T* z, std::size_t C) {
  const T m = *std::max_element(z, z + C);
  T s = 0;
  for (std::size_t c = 0; c < C; ++c) s += std::exp(z[c] - m);
  return m + std::log(s);
}

// softmax_cross_entropy: z[N,C], labels[N] -> L[]. With label smoothing eps (PyTorch's
// label_smoothing), the target of row r is q_c = (1 - eps) [c == y_r] + eps / C, and its loss
//   lse(z_r) - sum_c q_c z[r,c] = (1 - eps) (lse - z[r,y_r]) + eps (lse - mean_c z[r,c]),
// as torch's (1 - eps) nll + eps smooth_loss. eps = 0 keeps the plain form's bits.
template <class T>
void sce_forward(const OpArgs<T>& a) {
  const T* z = a.in[0].data;
  const T* labels = a.in[1].data;
  const std::size_t N = static_cast<std::size_t>(a.in[0].dim(0)), C = static_cast<std::size_t>(a.in[0].dim(1));
  const double eps = a.attrs->get_float("label_smoothing");
  double sum = 0;
  for (std::size_t r = 0; r < N; ++r) {
    const T* zr = z + r * C;
    const T lse = log_sum_exp(zr, C);
    const T nll = lse - zr[class_index(labels[r], r, C)];
    if (eps == 0) {
      sum += static_cast<double>(nll);
      continue;
    }
    double smooth = 0;  // -sum_c log softmax(z_r)[c] / C
    for (std::size_t c = 0; c < C; ++c) smooth += static_cast<double>(lse - zr[c]);
    sum += (1 - eps) * static_cast<double>(nll) + eps * smooth / static_cast<double>(C);
  }
  a.out[0][0] = static_cast<T>(sum / static_cast<double>(N));
}
// L = (1/N) sum_r [lse(z_r) - sum_c q_c z[r,c]]  =>  dz[r,c] = dL * (softmax(z_r)[c] - q_c) / N,
// q_c = [c == y_r] without smoothing.
template <class T>
void sce_backward(const OpArgs<T>& a) {
  if (!a.d_in[0]) return;
  const T* z = a.in[0].data;
  const T* labels = a.in[1].data;
  T* dz = a.d_in[0].data;
  const std::size_t N = static_cast<std::size_t>(a.in[0].dim(0)), C = static_cast<std::size_t>(a.in[0].dim(1));
  const T scale = a.d_out[0][0] / T(N);
  const bool acc = a.accumulates(0);
  const double eps = a.attrs->get_float("label_smoothing");
  // q_c, in T: eps / C off the label, 1 - eps + eps / C on it (1 and 0 without smoothing).
  const T off = static_cast<T>(eps / static_cast<double>(C)), on = static_cast<T>(1 - eps + eps / static_cast<double>(C));
  for (std::size_t r = 0; r < N; ++r) {
    const T* zr = z + r * C;
    T* dr = dz + r * C;
    const T lse = log_sum_exp(zr, C);
    const std::size_t y = class_index(labels[r], r, C);
    for (std::size_t c = 0; c < C; ++c) {
      const T g = scale * (std::exp(zr[c] - lse) - (c == y ? on : off));
      dr[c] = acc ? dr[c] + g : g;
    }
  }
}

// binary_cross_entropy_with_logits: x[n], t[n] -> L[]
// Per element: -(t log s(x) + (1-t) log(1-s(x))) = max(x,0) - x t + log(1 + exp(-|x|)),
// which never overflows for large |x|.
template <class T>
void bce_forward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  const T* t = a.in[1].data;
  const std::size_t n = a.in[0].size();
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i)
    sum += static_cast<double>(std::max(x[i], T(0)) - x[i] * t[i] + std::log1p(std::exp(-std::abs(x[i]))));
  a.out[0][0] = static_cast<T>(sum / static_cast<double>(n));
}
// dL/dx_i = dL * (sigmoid(x_i) - t_i) / n,   dL/dt_i = -dL * x_i / n
template <class T>
void bce_backward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  const T* t = a.in[1].data;
  const T scale = a.d_out[0][0] / T(a.in[0].size());
  if (a.d_in[0])
    write_grad(a.d_in[0], a.accumulates(0), [=](std::size_t i) {
      // sigmoid written so that exp's argument is never positive
      const T e = std::exp(-std::abs(x[i]));
      const T s = x[i] >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
      return scale * (s - t[i]);
    });
  if (a.d_in[1]) write_grad(a.d_in[1], a.accumulates(1), [=](std::size_t i) { return -scale * x[i]; });
}

OpDef loss(const char* name, std::vector<std::string> inputs) {
  OpDef d;
  d.name = name;
  d.inputs = std::move(inputs);
  d.outputs = {"loss"};
  d.backward_reads_in = {true, true};
  d.backward_reads_out = {false};
  return d;
}

}  // namespace

const OpDef& mse_loss_op() {
  static const OpDef def = [] {
    OpDef d = loss("mse_loss", {"prediction", "target"});
    d.shape = same_shapes_to_scalar;
    d.differentiable = {true, true};
    PLANGRAD_SET_KERNELS(d, mse_forward, mse_backward);
    return d;
  }();
  return def;
}

const OpDef& softmax_cross_entropy_op() {
  static const OpDef def = [] {
    OpDef d = loss("softmax_cross_entropy", {"logits", "labels"});
    d.attrs = {{"label_smoothing", AttrType::Float, false, 0.0}};
    d.shape = sce_shape;
    d.differentiable = {true, false};
    PLANGRAD_SET_KERNELS(d, sce_forward, sce_backward);
    return d;
  }();
  return def;
}

const OpDef& binary_cross_entropy_with_logits_op() {
  static const OpDef def = [] {
    OpDef d = loss("binary_cross_entropy_with_logits", {"logits", "targets"});
    d.shape = same_shapes_to_scalar;
    d.differentiable = {true, true};
    PLANGRAD_SET_KERNELS(d, bce_forward, bce_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
