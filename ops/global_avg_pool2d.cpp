#include "ops/global_avg_pool2d.hpp"

#include "core/checked.hpp"
#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

// x [N, C, H, W] -> y [N, C], with C, H and W positive (a mean over no cells is undefined).
// The plane's size H*W goes through checked arithmetic: the kernels divide by it.
std::vector<Shape> global_avg_pool2d_shape(const std::vector<Shape>& in, const Attrs&) {
  const Shape& x = in[0];
  expect_rank(x, 4, "x");
  for (std::size_t i = 1; i < 4; ++i)
    if (x[i] <= 0) throw ShapeError("x " + shape_str(x) + " must have positive C, H and W");
  mul_dims(x[2], x[3]);
  return one_output({x[0], x[1]});
}

// The planes' element count, from x's (or dx's) shape.
template <class T>
std::size_t plane_size(const TensorRef<T>& x) {
  return static_cast<std::size_t>(x.dim(2)) * static_cast<std::size_t>(x.dim(3));
}

// y[n, c] = (1 / HW) sum_{h, w} x[n, c, h, w]
// The sum is taken in double, so a float plane of any size rounds once, in the division.
template <class T>
void global_avg_pool2d_forward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  const std::size_t P = a.out[0].size(), HW = plane_size(a.in[0]);
  for (std::size_t p = 0; p < P; ++p) {
    const T* xp = x + p * HW;
    double sum = 0;
    for (std::size_t i = 0; i < HW; ++i) sum += static_cast<double>(xp[i]);
    y[p] = static_cast<T>(sum / static_cast<double>(HW));
  }
}

// y[n, c] = mean of the plane  =>  dx[n, c, h, w] = dy[n, c] / HW at every cell.
// Reads dy only (x's shape comes with dx).
template <class T>
void global_avg_pool2d_backward(const OpArgs<T>& a) {
  if (!a.d_in[0]) return;
  const T* dy = a.d_out[0].data;
  T* dx = a.d_in[0].data;
  const bool acc = a.accumulates(0);
  const std::size_t P = a.d_out[0].size(), HW = plane_size(a.d_in[0]);
  const T scale = static_cast<T>(1.0 / static_cast<double>(HW));
  for (std::size_t p = 0; p < P; ++p) {
    const T g = dy[p] * scale;
    T* dxp = dx + p * HW;
    if (acc) {
      for (std::size_t i = 0; i < HW; ++i) dxp[i] += g;
    } else {
      for (std::size_t i = 0; i < HW; ++i) dxp[i] = g;
    }
  }
}

}  // namespace

const OpDef& global_avg_pool2d_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "global_avg_pool2d";
    d.inputs = {"x"};
    d.outputs = {"y"};
    d.shape = global_avg_pool2d_shape;
    d.differentiable = {true};
    d.backward_reads_in = {false};
    d.backward_reads_out = {false};
    PLANGRAD_SET_KERNELS(d, global_avg_pool2d_forward, global_avg_pool2d_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
