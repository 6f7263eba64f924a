#include "ops/normalize.hpp"

#include <cmath>

#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

// The attributes are checked where every graph passes, the shape rule: a zero, negative
// or non-finite std (or a non-finite mean) never reaches a kernel. The checks hold in float,
// the precision models run in: a std of 1e-300 is positive in double and 0 in float.
std::vector<Shape> normalize_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  const double mean = attrs.get_float("mean"), std_dev = attrs.get_float("std");
  if (!std::isfinite(mean))
    throw GraphError("attribute 'mean' must be finite, got " + attr_str(mean));
  if (!std::isfinite(static_cast<float>(mean)))
    throw GraphError("attribute 'mean' must be finite in float, the precision models run in, got " + attr_str(mean));
  if (!(std_dev > 0.0) || !std::isfinite(std_dev))
    throw GraphError("attribute 'std' must be positive and finite, got " + attr_str(std_dev));
  if (!std::isnormal(static_cast<float>(std_dev)))
    throw GraphError("attribute 'std' must be a normal float, the precision models run in, got " + attr_str(std_dev));
  return one_output(in[0]);
}

// normalize: x[n] -> y[n]
template <class T>
void normalize_forward(const OpArgs<T>& a) {
  const T mean = T(a.attrs->get_float("mean")), std_dev = T(a.attrs->get_float("std"));
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  const std::size_t n = a.out[0].size();
  for (std::size_t i = 0; i < n; ++i) y[i] = (x[i] - mean) / std_dev;
}
// y = (x - mean) / std  =>  dx = dy / std
template <class T>
void normalize_backward(const OpArgs<T>& a) {
  const T std_dev = T(a.attrs->get_float("std"));
  const T* dy = a.d_out[0].data;
  write_grad(a.d_in[0], a.accumulates(0), [=](std::size_t i) { return dy[i] / std_dev; });
}

}  // namespace

const OpDef& normalize_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "normalize";
    d.inputs = {"x"};
    d.outputs = {"y"};
    d.shape = normalize_shape;
    d.attrs = {{"mean", AttrType::Float, false, 0.0}, {"std", AttrType::Float, false, 1.0}};
    d.differentiable = {true};
    d.backward_reads_in = {false};
    d.backward_reads_out = {false};
    d.inplace = true;
    d.backward_inplace = true;
    PLANGRAD_SET_KERNELS(d, normalize_forward, normalize_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
