#include "ops/pool.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ops/conv2d.hpp"
#include "ops/kernel_util.hpp"
#include "kernels/parallel.hpp"

namespace plangrad {
namespace {

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

// The index in the plane xc[H*W] of the maximum of window (oh, ow); the first in row-major
// window order on ties (strict >). Padding cells are -inf: they are skipped, never chosen.
template <class T>
Dim window_argmax(const T* xc, const Window2d& g, Dim oh, Dim ow) {
  const Dim h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  const Dim h_begin = std::max<Dim>(h0, 0), h_end = std::min(h0 + g.kh, g.h);
  const Dim w_begin = std::max<Dim>(w0, 0), w_end = std::min(w0 + g.kw, g.w);
  Dim best = h_begin * g.w + w_begin;
  for (Dim ih = h_begin; ih < h_end; ++ih)
    for (Dim iw = w_begin; iw < w_end; ++iw)
      if (xc[ih * g.w + iw] > xc[best]) best = ih * g.w + iw;
  return best;
}

template <class B, class T>
B bits_of(T x) {
  B b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
template <class T, class B>
T from_bits(B b) {
  T x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// The fast path of the common 2x2 window, stride 2, no padding (the CNN's pool): the same
// comparisons, in the same order, as window_argmax, so the same result.
bool is_2x2_stride_2(const Window2d& g) {
  return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0;
}

// The 2x2 stride 2 backward without accumulation, window (oh, ow) of rows r0, r1 (x) and
// d0, d1 (dx): the winner is the last of cells 1..3 that beats the maximum so far (the
// comparisons of window_argmax), else cell 0; it gets T(0) + dy (the general path's bits: a
// -0 gradient becomes +0), the other cells +0. No branches: on real data which cell wins
// is unpredictable.
//
// route_2x2_block: kBlock windows from ow, with selects that the compiler vectorizes (a
// fixed trip count: the rows of a CNN are too short for a vectorized loop over the row).
constexpr Dim kBlock = 8;

template <class T>
void route_2x2_block(const T* r0, const T* r1, const T* dyr, T* d0, T* d1, Dim ow0) {
  for (Dim k = 0; k < kBlock; ++k) {
    const Dim ow = ow0 + k, j = 2 * ow;
    const T c0 = r0[j], c1 = r0[j + 1], c2 = r1[j], c3 = r1[j + 1];
    const T v1 = c1 > c0 ? c1 : c0;
    const T v2 = c2 > v1 ? c2 : v1;
    const T routed = T(0) + dyr[ow];
    // Each cell holds routed while it is the winner so far.
    T w0 = c1 > c0 ? T(0) : routed, w1 = c1 > c0 ? routed : T(0);
    w0 = c2 > v1 ? T(0) : w0;
    w1 = c2 > v1 ? T(0) : w1;
    const T w2 = c2 > v1 ? routed : T(0);
    d0[j] = c3 > v2 ? T(0) : w0;
    d0[j + 1] = c3 > v2 ? T(0) : w1;
    d1[j] = c3 > v2 ? T(0) : w2;
    d1[j + 1] = c3 > v2 ? routed : T(0);
  }
}

// route_2x2_one: one window; the gradient's bits under all-ones or all-zeros masks (the
// compiler would make branches of scalar selects).
template <class T>
void route_2x2_one(const T* r0, const T* r1, const T* dyr, T* d0, T* d1, Dim ow) {
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  const Dim j = 2 * ow;
  const bool s1 = r0[j + 1] > r0[j];
  const T v1 = s1 ? r0[j + 1] : r0[j];
  const bool s2 = r1[j] > v1;
  const T v2 = s2 ? r1[j] : v1;
  const bool s3 = r1[j + 1] > v2;
  const Bits routed = bits_of<Bits>(T(0) + dyr[ow]);
  const Bits m3 = Bits(0) - Bits(s3), m2 = (Bits(0) - Bits(s2)) & ~m3;
  const Bits m1 = (Bits(0) - Bits(s1)) & ~m2 & ~m3, m0 = ~(m1 | m2 | m3);
  d0[j] = from_bits<T>(routed & m0);
  d0[j + 1] = from_bits<T>(routed & m1);
  d1[j] = from_bits<T>(routed & m2);
  d1[j + 1] = from_bits<T>(routed & m3);
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
template <class T>
void max_pool2d_forward(const OpArgs<T>& a) {
  const PoolDims d = pool_dims(a.in[0].shape, *a.attrs);
  const Window2d& g = d.g;
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  if (is_2x2_stride_2(g)) {
    for_planes(d, [&](Dim p0, Dim p1) {
      for (Dim p = p0; p < p1; ++p) {
        const T* xc = x + p * g.h * g.w;
        T* yc = y + p * g.oh * g.ow;
        for (Dim oh = 0; oh < g.oh; ++oh) {
          const T* r0 = xc + 2 * oh * g.w;
          const T* r1 = r0 + g.w;
          T* yr = yc + oh * g.ow;
          for (Dim ow = 0; ow < g.ow; ++ow) {
            T v = r0[2 * ow];
            if (r0[2 * ow + 1] > v) v = r0[2 * ow + 1];
            if (r1[2 * ow] > v) v = r1[2 * ow];
            if (r1[2 * ow + 1] > v) v = r1[2 * ow + 1];
            yr[ow] = v;
          }
        }
      }
    });
    return;
  }
  for_planes(d, [&](Dim p0, Dim p1) {
    for (Dim p = p0; p < p1; ++p) {
      const T* xc = x + p * g.h * g.w;
      T* yc = y + p * g.oh * g.ow;
      for (Dim oh = 0; oh < g.oh; ++oh)
        for (Dim ow = 0; ow < g.ow; ++ow) yc[oh * g.ow + ow] = xc[window_argmax(xc, g, oh, ow)];
    }
  });
}

// y[n,c,oh,ow] = x[n,c,argmax]  =>  dx[n,c,argmax] += dy[n,c,oh,ow]  (0 everywhere else)
// The argmax is recomputed from x rather than saved: saving it would cost as many elements
// as y (and indices stored as float lose exactness past 2^24), while keeping x alive is
// usually free, because the pool's input is a relu output whose backward keeps it anyway.
template <class T>
void max_pool2d_backward(const OpArgs<T>& a) {
  if (!a.d_in[0]) return;
  const PoolDims d = pool_dims(a.in[0].shape, *a.attrs);
  const Window2d& g = d.g;
  const T* x = a.in[0].data;
  const T* dy = a.d_out[0].data;
  T* dx = a.d_in[0].data;
  if (is_2x2_stride_2(g)) {
    // Windows do not overlap: each covered cell receives at most one gradient, so write
    // every cell once. T(0) + dy keeps the general path's bits (a -0 gradient becomes +0);
    // with accumulation only the argmax cell is added to.
    const bool acc = a.accumulates(0);
    for_planes(d, [&](Dim p0, Dim p1) {
      for (Dim p = p0; p < p1; ++p) {
        const T* xc = x + p * g.h * g.w;
        const T* dyc = dy + p * g.oh * g.ow;
        T* dxc = dx + p * g.h * g.w;
        for (Dim oh = 0; oh < g.oh; ++oh) {
          const T* r0 = xc + 2 * oh * g.w;
          const T* r1 = r0 + g.w;
          T* d0 = dxc + 2 * oh * g.w;
          T* d1 = d0 + g.w;
          const T* dyr = dyc + oh * g.ow;
          if (acc) {
            for (Dim ow = 0; ow < g.ow; ++ow) {
              const Dim j = 2 * ow;
              int best = 0;
              T v = r0[j];
              if (r0[j + 1] > v) { v = r0[j + 1]; best = 1; }
              if (r1[j] > v) { v = r1[j]; best = 2; }
              if (r1[j + 1] > v) best = 3;
              T& cell = best == 0 ? d0[j] : best == 1 ? d0[j + 1] : best == 2 ? d1[j] : d1[j + 1];
              cell += dyr[ow];
            }
          } else {
            // Blocks of kBlock windows, the last one overlapping the one before when kBlock
            // does not divide the row (it writes the same values again); rows narrower than a
            // block one window at a time.
            if (g.ow >= kBlock) {
              for (Dim ow = 0; ow + kBlock <= g.ow; ow += kBlock) route_2x2_block(r0, r1, dyr, d0, d1, ow);
              if (g.ow % kBlock) route_2x2_block(r0, r1, dyr, d0, d1, g.ow - kBlock);
            } else {
              for (Dim ow = 0; ow < g.ow; ++ow) route_2x2_one(r0, r1, dyr, d0, d1, ow);
            }
          }
          // An odd width leaves the last column of both rows outside every window.
          if (!acc && 2 * g.ow < g.w) d0[g.w - 1] = d1[g.w - 1] = T(0);
        }
        // An odd height leaves the last row outside every window.
        if (!acc && 2 * g.oh < g.h) std::fill(dxc + 2 * g.oh * g.w, dxc + g.h * g.w, T(0));
      }
    });
    return;
  }
  // Overlapping windows may route several gradients to one cell: clear, then add.
  if (!a.accumulates(0)) std::fill(dx, dx + a.d_in[0].size(), T(0));
  for_planes(d, [&](Dim p0, Dim p1) {
    for (Dim p = p0; p < p1; ++p) {
      const T* xc = x + p * g.h * g.w;
      const T* dyc = dy + p * g.oh * g.ow;
      T* dxc = dx + p * g.h * g.w;
      for (Dim oh = 0; oh < g.oh; ++oh)
        for (Dim ow = 0; ow < g.ow; ++ow) dxc[window_argmax(xc, g, oh, ow)] += dyc[oh * g.ow + ow];
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
    PLANGRAD_SET_KERNELS(d, max_pool2d_forward, max_pool2d_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
