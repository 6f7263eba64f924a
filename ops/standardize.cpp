#include "ops/standardize.hpp"

#include <cmath>
#include <string>

#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

std::vector<Shape> standardize_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  const std::int64_t inverse = attrs.get_int("inverse");
  if (inverse != 0 && inverse != 1) throw ShapeError("attribute 'inverse' must be 0 or 1, got " + std::to_string(inverse));
  expect_min_rank(in[0], 1, "x");
  expect_rank(in[1], 1, "mean");
  expect_rank(in[2], 1, "std");
  const Dim features = in[0].back();
  if (in[1][0] != features || in[2][0] != features)
    throw ShapeError("mean " + shape_str(in[1]) + " and std " + shape_str(in[2]) + " must both be [" +
                     std::to_string(features) + "], the last dimension of x " + shape_str(in[0]));
  return one_output(in[0]);
}

// The statistics a model file gives: a std that is zero, negative, subnormal or not
// finite in float would divide by zero (or by nothing) in the kernels.
std::string standardize_check_data(std::size_t input, const float* data, std::size_t n) {
  for (std::size_t f = 0; f < n; ++f) {
    if (input == 1 && !std::isfinite(data[f])) return "mean[" + std::to_string(f) + "] = " + attr_str(double(data[f])) + " is not finite";
    if (input == 2 && !(std::isnormal(data[f]) && data[f] > 0.0f))
      return "std[" + std::to_string(f) + "] = " + attr_str(double(data[f])) + " is not a positive normal float";
  }
  return "";
}

// y[r, f] = (x[r, f] - mean[f]) / std[f], or x[r, f] * std[f] + mean[f] (inverse), for the
// rows r of every leading position.
template <class T>
void standardize_forward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  const T* mean = a.in[1].data;
  const T* sd = a.in[2].data;
  T* y = a.out[0].data;
  const std::size_t features = a.in[1].size(), rows = features ? a.out[0].size() / features : 0;
  if (a.attrs->get_int("inverse")) {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t f = 0; f < features; ++f) y[r * features + f] = x[r * features + f] * sd[f] + mean[f];
  } else {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t f = 0; f < features; ++f) y[r * features + f] = (x[r * features + f] - mean[f]) / sd[f];
  }
}
// dx = dy / std (inverse: dy * std), row by row. No gradient for mean and std: they are
// statistics.
template <class T, class G>
void standardize_grad(const OpArgs<T>& a, G g) {
  const T* dy = a.d_out[0].data;
  const T* sd = a.in[2].data;
  T* dx = a.d_in[0].data;
  const std::size_t features = a.in[2].size(), rows = features ? a.d_in[0].size() / features : 0;
  if (a.accumulates(0)) {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t f = 0; f < features; ++f) dx[r * features + f] += g(dy[r * features + f], sd[f]);
  } else {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t f = 0; f < features; ++f) dx[r * features + f] = g(dy[r * features + f], sd[f]);
  }
}
template <class T>
void standardize_backward(const OpArgs<T>& a) {
  if (!a.d_in[0].data) return;
  if (a.attrs->get_int("inverse")) standardize_grad(a, [](T dy, T sd) { return dy * sd; });
  else standardize_grad(a, [](T dy, T sd) { return dy / sd; });
}

}  // namespace

const OpDef& standardize_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "standardize";
    d.inputs = {"x", "mean", "std"};
    d.outputs = {"y"};
    d.shape = standardize_shape;
    d.attrs = {{"inverse", AttrType::Int, false, std::int64_t{0}}};
    d.differentiable = {true, false, false};
    d.backward_reads_in = {false, false, true};
    d.backward_reads_out = {false};
    d.inplace = true;
    d.backward_inplace = true;
    d.check_data = standardize_check_data;
    PLANGRAD_SET_KERNELS(d, standardize_forward, standardize_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
