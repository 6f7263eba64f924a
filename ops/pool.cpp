#include "ops/pool.hpp"

#include <algorithm>
#include <cstdint>

#include "ops/conv2d.hpp"
#include "ops/kernel_util.hpp"
#include "ops/pool_2x2.hpp"
#include "kernels/parallel.hpp"

namespace plangrad {
namespace {

using namespace pool_2x2;

struct PoolDims {
  Dim N = 0, C = 0;
  Window2d g;
};

PoolDims pool_dims(const Shape& x, const Attrs& attrs) {
  PoolDims d;
  d.g = pool_window(x, attrs);
  d.N = x[0];
  d.C = x[1];
  // With padding below the kernel, every window holds at least one real cell, so the -inf
  // of the padding is never the maximum (and the backward never routes into padding).
  if (d.g.ph >= d.g.kh || d.g.pw >= d.g.kw)
    throw ShapeError("padding [" + std::to_string(d.g.ph) + ", " + std::to_string(d.g.pw) +
                     "] must be smaller than the kernel [" + std::to_string(d.g.kh) + ", " +
                     std::to_string(d.g.kw) + "]");
  return d;
}

std::vector<Shape> max_pool2d_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  const PoolDims d = pool_dims(in[0], attrs);
  return one_output({d.N, d.C, d.g.oh, d.g.ow});
}

// The index in the plane xc[H*W] of the maximum of window (oh, ow) of cell<kRelu>; the
// first in row-major window order on ties (strict >). Padding cells are -inf: they are
// skipped, never chosen.
template <bool kRelu, class T>
Dim window_argmax(const T* xc, const Window2d& g, Dim oh, Dim ow) {
  const Dim h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  const Dim h_begin = std::max<Dim>(h0, 0), h_end = std::min(h0 + g.kh, g.h);
  const Dim w_begin = std::max<Dim>(w0, 0), w_end = std::min(w0 + g.kw, g.w);
  Dim best = h_begin * g.w + w_begin;
  T v = cell<kRelu>(xc[best]);
  for (Dim ih = h_begin; ih < h_end; ++ih)
    for (Dim iw = w_begin; iw < w_end; ++iw) {
      const T c = cell<kRelu>(xc[ih * g.w + iw]);
      if (c > v) {
        v = c;
        best = ih * g.w + iw;
      }
    }
  return best;
}

// f(p0, p1) over the planes (n, c) [p0, p1), in chunks of about 16k input elements shared
// between op_threads() threads when the input is large: planes are independent, so the
// split does not change any bit.
template <class F>
void for_planes(const PoolDims& d, const F& f) {
  const Dim planes = d.N * d.C, plane = d.g.h * d.g.w;
  parallel_chunks(threads_for_elements(planes * plane), planes, std::max<Dim>(1, (Dim(1) << 14) / std::max<Dim>(plane, 1)), f);
}

// max_pool2d: x[N,C,H,W] -> y[N,C,OH,OW]
// y[n,c,oh,ow] = max_{i<kh, j<kw} x[n, c, oh*sh - ph + i, ow*sw - pw + j]
// With kRelu (after_relu): x is relu's input z, y = max-pool(relu(z)).
template <bool kRelu, class T>
void max_pool2d_forward(const OpArgs<T>& a) {
  const PoolDims d = pool_dims(a.in[0].shape, *a.attrs);
  const Window2d& g = d.g;
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  if (is_2x2_stride_2(g)) {
    for_planes(d, [&](Dim p0, Dim p1) {
      for (Dim p = p0; p < p1; ++p) pool_2x2_plane<kRelu>(g, x + p * g.h * g.w, y + p * g.oh * g.ow, p + 1 < p1);
    });
    return;
  }
  for_planes(d, [&](Dim p0, Dim p1) {
    for (Dim p = p0; p < p1; ++p) {
      const T* xc = x + p * g.h * g.w;
      T* yc = y + p * g.oh * g.ow;
      for (Dim oh = 0; oh < g.oh; ++oh)
        for (Dim ow = 0; ow < g.ow; ++ow) yc[oh * g.ow + ow] = cell<kRelu>(xc[window_argmax<kRelu>(xc, g, oh, ow)]);
    }
  });
}

// The windows (oh, ow) that cover cell (ih, iw), row-major: rows [oh0, oh1), columns
// [ow0, ow1).
struct Cover {
  Dim oh0, oh1, ow0, ow1;
};
Cover cover(const Window2d& g, Dim ih, Dim iw) {
  // Window oh covers rows [oh sh - ph, oh sh - ph + kh).
  auto first = [](Dim i, Dim k, Dim s) { return i + 1 - k <= 0 ? Dim(0) : (i + 1 - k + s - 1) / s; };
  return {first(ih + g.ph, g.kh, g.sh), std::min((ih + g.ph) / g.sh + 1, g.oh),
          first(iw + g.pw, g.kw, g.sw), std::min((iw + g.pw) / g.sw + 1, g.ow)};
}

// y[n,c,oh,ow] = x[n,c,argmax]  =>  dx[n,c,argmax] += dy[n,c,oh,ow]  (0 everywhere else)
// The argmax is recomputed from x rather than saved: saving it would cost as many elements
// as y (and indices stored as float lose exactness past 2^24), while keeping x alive is
// usually free, because the pool's input is a relu output whose backward keeps it anyway
// (or, fused with the relu, relu's input, which the convolution before keeps).
// With kRelu (after_relu): x is relu's input z, dx its gradient dz = relu'(z) * (the
// max-pool's gradient of relu(z)), with relu's accumulate flag; the max-pool's gradient
// never goes to memory.
template <bool kRelu, class T>
void max_pool2d_backward(const OpArgs<T>& a) {
  if (!a.d_in[0]) return;
  const PoolDims d = pool_dims(a.in[0].shape, *a.attrs);
  const Window2d& g = d.g;
  const T* x = a.in[0].data;
  const T* dy = a.d_out[0].data;
  T* dx = a.d_in[0].data;
  const bool acc = a.accumulates(0);
  if (is_2x2_stride_2(g) && (kRelu || !acc)) {
    for_planes(d, [&](Dim p0, Dim p1) {
      for (Dim p = p0; p < p1; ++p) {
        const T* xc = x + p * g.h * g.w;
        const T* dyc = dy + p * g.oh * g.ow;
        T* dxc = dx + p * g.h * g.w;
        if (acc) route_2x2_plane<kRelu, true>(g, xc, dyc, dxc, p + 1 < p1);
        else route_2x2_plane<kRelu, false>(g, xc, dyc, dxc, p + 1 < p1);
      }
    });
    return;
  }
  if (kRelu && acc) {
    // relu's backward adds its gradient, the max-pool's complete sum at each cell, once:
    // gather each cell's sum from the windows that cover it, in the order the max-pool
    // would have added them (row-major).
    for_planes(d, [&](Dim p0, Dim p1) {
      for (Dim p = p0; p < p1; ++p) {
        const T* xc = x + p * g.h * g.w;
        const T* dyc = dy + p * g.oh * g.ow;
        T* dxc = dx + p * g.h * g.w;
        for (Dim ih = 0; ih < g.h; ++ih)
          for (Dim iw = 0; iw < g.w; ++iw) {
            const Cover c = cover(g, ih, iw);
            T sum = T(0);
            for (Dim oh = c.oh0; oh < c.oh1; ++oh)
              for (Dim ow = c.ow0; ow < c.ow1; ++ow)
                if (window_argmax<kRelu>(xc, g, oh, ow) == ih * g.w + iw) sum += dyc[oh * g.ow + ow];
            dxc[ih * g.w + iw] += xc[ih * g.w + iw] > T(0) ? sum : T(0);
          }
      }
    });
    return;
  }
  // Overlapping windows may route several gradients to one cell: clear, then add (with
  // kRelu, only to cells where relu's gradient is 1, relu(z) > 0; the rest keep +0).
  if (!acc) std::fill(dx, dx + a.d_in[0].size(), T(0));
  for_planes(d, [&](Dim p0, Dim p1) {
    for (Dim p = p0; p < p1; ++p) {
      const T* xc = x + p * g.h * g.w;
      const T* dyc = dy + p * g.oh * g.ow;
      T* dxc = dx + p * g.h * g.w;
      for (Dim oh = 0; oh < g.oh; ++oh)
        for (Dim ow = 0; ow < g.ow; ++ow) {
          const Dim best = window_argmax<kRelu>(xc, g, oh, ow);
          if (!kRelu || xc[best] > T(0)) dxc[best] += dyc[oh * g.ow + ow];
        }
    }
  });
}

}  // namespace

const OpDef& max_pool2d_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "max_pool2d";
    d.inputs = {"x"};
    d.outputs = {"y"};
    d.attrs = {{"kernel", AttrType::Ints, true, std::vector<std::int64_t>{}},
               {"stride", AttrType::Ints, false, std::vector<std::int64_t>{}},
               {"padding", AttrType::Ints, false, std::vector<std::int64_t>{0, 0}}};
    d.shape = max_pool2d_shape;
    d.differentiable = {true};
    d.backward_reads_in = {true};
    d.backward_reads_out = {false};
    d.f32 = dispatch_kernels<float, &max_pool2d_forward<false, float>, &max_pool2d_backward<false, float>>();
    d.f64 = dispatch_kernels<double, &max_pool2d_forward<false, double>, &max_pool2d_backward<false, double>>();
    d.after_relu.f32 = dispatch_kernels<float, &max_pool2d_forward<true, float>, &max_pool2d_backward<true, float>>();
    d.after_relu.f64 = dispatch_kernels<double, &max_pool2d_forward<true, double>, &max_pool2d_backward<true, double>>();
    return d;
  }();
  return def;
}

}  // namespace plangrad
