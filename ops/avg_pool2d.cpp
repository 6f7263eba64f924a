#include "ops/avg_pool2d.hpp"

#include <algorithm>
#include <cstdint>

#include "core/checked.hpp"
#include "ops/conv2d.hpp"
#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

struct AvgPoolDims {
  Dim N = 0, C = 0;
  Window2d g;
  bool include_pad = true;
};

// The window geometry from x's shape and the attributes (ShapeErrors as max_pool2d's, and
// PyTorch's bound: padding at most half the kernel, so every window holds a real cell).
AvgPoolDims avg_pool_dims(const Shape& x, const Attrs& attrs) {
  AvgPoolDims d;
  d.g = pool_window(x, attrs);
  d.N = x[0];
  d.C = x[1];
  if (mul_dims(2, d.g.ph) > d.g.kh || mul_dims(2, d.g.pw) > d.g.kw)
    throw ShapeError("padding " + ints_str({d.g.ph, d.g.pw}) + " must be at most half the kernel " +
                     ints_str({d.g.kh, d.g.kw}));
  const std::int64_t include = attrs.get_int("count_include_pad");
  if (include != 0 && include != 1)
    throw ShapeError("count_include_pad " + std::to_string(include) + " must be 0 or 1");
  d.include_pad = include == 1;
  mul_dims(d.g.kh, d.g.kw);
  return d;
}

std::vector<Shape> avg_pool2d_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  const AvgPoolDims d = avg_pool_dims(in[0], attrs);
  return one_output({d.N, d.C, d.g.oh, d.g.ow});
}

// Window (oh, ow) clipped to the real plane: rows [h0, h1), columns [w0, w1), and the
// divisor of its mean (kh*kw with count_include_pad, the real cells without).
struct Cells {
  Dim h0, h1, w0, w1;
  double divisor;
};
Cells window_cells(const AvgPoolDims& d, Dim oh, Dim ow) {
  const Window2d& g = d.g;
  const Dim hs = oh * g.sh - g.ph, ws = ow * g.sw - g.pw;
  Cells c;
  c.h0 = std::max<Dim>(hs, 0);
  c.h1 = std::min(hs + g.kh, g.h);
  c.w0 = std::max<Dim>(ws, 0);
  c.w1 = std::min(ws + g.kw, g.w);
  c.divisor = d.include_pad ? static_cast<double>(g.kh * g.kw) : static_cast<double>((c.h1 - c.h0) * (c.w1 - c.w0));
  return c;
}

// y[n,c,oh,ow] = (1 / divisor) sum_{real cells (i, j) of the window} x[n,c,i,j]
// Padding cells are 0 (they add nothing; with count_include_pad they still count in the
// divisor). The window's sum is taken in double.
template <class T>
void avg_pool2d_forward(const OpArgs<T>& a) {
  const AvgPoolDims d = avg_pool_dims(a.in[0].shape, *a.attrs);
  const Window2d& g = d.g;
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  const Dim planes = d.N * d.C;
  for (Dim p = 0; p < planes; ++p) {
    const T* xp = x + p * g.h * g.w;
    T* yp = y + p * g.oh * g.ow;
    for (Dim oh = 0; oh < g.oh; ++oh)
      for (Dim ow = 0; ow < g.ow; ++ow) {
        const Cells c = window_cells(d, oh, ow);
        double sum = 0;
        for (Dim i = c.h0; i < c.h1; ++i)
          for (Dim j = c.w0; j < c.w1; ++j) sum += static_cast<double>(xp[i * g.w + j]);
        yp[oh * g.ow + ow] = static_cast<T>(sum / c.divisor);
      }
  }
}

// y = window sum / divisor  =>  dx[n,c,i,j] = sum over the windows holding real cell
// (i, j) of dy[n,c,oh,ow] / divisor(oh, ow). Windows may overlap, so dx is cleared first
// (unless it accumulates) and added to. Reads dy only: the geometry comes from dx's shape.
template <class T>
void avg_pool2d_backward(const OpArgs<T>& a) {
  if (!a.d_in[0]) return;
  const AvgPoolDims d = avg_pool_dims(a.d_in[0].shape, *a.attrs);
  const Window2d& g = d.g;
  const T* dy = a.d_out[0].data;
  T* dx = a.d_in[0].data;
  if (!a.accumulates(0)) std::fill(dx, dx + a.d_in[0].size(), T(0));
  const Dim planes = d.N * d.C;
  for (Dim p = 0; p < planes; ++p) {
    T* dxp = dx + p * g.h * g.w;
    const T* dyp = dy + p * g.oh * g.ow;
    for (Dim oh = 0; oh < g.oh; ++oh)
      for (Dim ow = 0; ow < g.ow; ++ow) {
        const Cells c = window_cells(d, oh, ow);
        const T share = static_cast<T>(static_cast<double>(dyp[oh * g.ow + ow]) / c.divisor);
        for (Dim i = c.h0; i < c.h1; ++i)
          for (Dim j = c.w0; j < c.w1; ++j) dxp[i * g.w + j] += share;
      }
  }
}

}  // namespace

const OpDef& avg_pool2d_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "avg_pool2d";
    d.inputs = {"x"};
    d.outputs = {"y"};
    d.attrs = {{"kernel", AttrType::Ints, true, std::vector<std::int64_t>{}},
               {"stride", AttrType::Ints, false, std::vector<std::int64_t>{}},
               {"padding", AttrType::Ints, false, std::vector<std::int64_t>{0, 0}},
               {"count_include_pad", AttrType::Int, false, std::int64_t{1}}};
    d.shape = avg_pool2d_shape;
    d.differentiable = {true};
    d.backward_reads_in = {false};
    d.backward_reads_out = {false};
    PLANGRAD_SET_KERNELS(d, avg_pool2d_forward, avg_pool2d_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
