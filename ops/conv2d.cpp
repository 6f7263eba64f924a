#include "ops/conv2d.hpp"

#include <algorithm>
#include <type_traits>

#include "core/checked.hpp"
#include "kernels/blas.hpp"
#include "kernels/conv_dw.hpp"
#include "kernels/parallel.hpp"
#include "ops/conv2d_cols.hpp"
#include "ops/conv2d_rows.hpp"
#include "ops/kernel_util.hpp"
#include "ops/pool_2x2.hpp"

namespace plangrad {

void read_pair(const Attrs& attrs, const char* name, Dim& first, Dim& second) {
  const std::vector<std::int64_t>& v = attrs.get_ints(name);
  if (v.size() != 2)
    throw ShapeError(std::string("attribute '") + name + "' must have two entries, got " +
                     ints_str(v));
  first = v[0];
  second = v[1];
}

void finish_window(Window2d& g, const Shape& x, const char* role) {
  if (g.kh <= 0 || g.kw <= 0)
    throw ShapeError("kernel " + ints_str({g.kh, g.kw}) + " must be positive");
  if (g.sh <= 0 || g.sw <= 0)
    throw ShapeError("stride " + ints_str({g.sh, g.sw}) + " must be positive");
  if (g.ph < 0 || g.pw < 0)
    throw ShapeError("padding " + ints_str({g.ph, g.pw}) + " must not be negative");
  const Dim padded_h = add_dims(g.h, mul_dims(2, g.ph)), padded_w = add_dims(g.w, mul_dims(2, g.pw));
  if (g.kh > padded_h || g.kw > padded_w)
    throw ShapeError("kernel " + std::to_string(g.kh) + "x" + std::to_string(g.kw) +
                     " is larger than the padded input " + std::to_string(padded_h) + "x" +
                     std::to_string(padded_w) + " (" + role + " " + shape_str(x) + ", padding " +
                     ints_str({g.ph, g.pw}) + ")");
  g.oh = (padded_h - g.kh) / g.sh + 1;
  g.ow = (padded_w - g.kw) / g.sw + 1;
}

Window2d pool_window(const Shape& x, const Attrs& attrs) {
  expect_rank(x, 4, "x");
  for (std::size_t i = 1; i < 4; ++i)
    if (x[i] <= 0) throw ShapeError("x " + shape_str(x) + " must have positive C, H and W");
  Window2d g;
  g.h = x[2];
  g.w = x[3];
  read_pair(attrs, "kernel", g.kh, g.kw);
  if (attrs.get_ints("stride").empty()) {
    g.sh = g.kh;
    g.sw = g.kw;
  } else {
    read_pair(attrs, "stride", g.sh, g.sw);
  }
  read_pair(attrs, "padding", g.ph, g.pw);
  finish_window(g, x, "x");
  return g;
}

namespace {

// Everything a conv2d kernel needs to know about sizes, from the shapes of x and w.
struct ConvDims {
  Dim N = 0, C = 0, F = 0;
  Window2d g;
  Dim ckk = 0;  // C*KH*KW: the rows of col, the columns of w viewed as [F, CKK]
  Dim ohw = 0;  // OH*OW: the columns of col and of y_n viewed as [F, OH*OW]
  // A 1x1 kernel with stride 1 and no padding: col(x_n) is x_n itself, so there is no
  // im2col, no col2im and no workspace.
  bool pointwise = false;
};

ConvDims conv_dims(const Shape& x, const Shape& w, const Attrs& attrs) {
  expect_rank(x, 4, "x");
  expect_rank(w, 4, "w");
  for (std::size_t i = 1; i < 4; ++i)
    if (x[i] <= 0) throw ShapeError("x " + shape_str(x) + " must have positive C, H and W");
  for (Dim d : w)
    if (d <= 0) throw ShapeError("w " + shape_str(w) + " must have positive dimensions");
  if (x[1] != w[1])
    throw ShapeError("x " + shape_str(x) + " has " + std::to_string(x[1]) + " channels but w " +
                     shape_str(w) + " expects " + std::to_string(w[1]));
  ConvDims d;
  d.N = x[0];
  d.C = x[1];
  d.F = w[0];
  d.g.h = x[2];
  d.g.w = x[3];
  d.g.kh = w[2];
  d.g.kw = w[3];
  read_pair(attrs, "stride", d.g.sh, d.g.sw);
  read_pair(attrs, "padding", d.g.ph, d.g.pw);
  finish_window(d.g, x, "x");
  d.ckk = mul_dims(mul_dims(d.C, d.g.kh), d.g.kw);
  d.ohw = mul_dims(d.g.oh, d.g.ow);
  d.pointwise = d.g.kh == 1 && d.g.kw == 1 && d.g.sh == 1 && d.g.sw == 1 && d.g.ph == 0 &&
                d.g.pw == 0;
  return d;
}

template <bool HasBias>
std::vector<Shape> conv2d_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  const ConvDims d = conv_dims(in[0], in[1], attrs);
  if (HasBias) {
    expect_rank(in[2], 1, "b");
    if (in[2][0] != d.F)
      throw ShapeError("b " + shape_str(in[2]) + " does not match the " + std::to_string(d.F) +
                       " filters of w " + shape_str(in[1]));
  }
  return one_output({d.N, d.F, d.g.oh, d.g.ow});
}

// The images of a batch are split into `parts` runs, one per thread (kernels/parallel.hpp).
// Each part has a slice of the workspace: one image's columns (C*KH*KW rows of OH*OW,
// none for a pointwise conv), which the forward GEMM reads and the backward reuses first
// for col (dw) and then for dcol (dx); and, with more than one part, a partial dw [F, CKK]
// (part 0 sums into dw itself; the others are added to it in part order at the end).
// The float stride-1 path (ops/conv2d_rows.hpp) pads x_n, or dy_n for dx, into the slice's
// first elements instead, when that fits in a col's room (the im2col path runs otherwise).
// One part is the plain loop over images. More parts give the forward's bits exactly, and
// a dw summed in another order: the same bits for the same thread count.
struct ConvSlices {
  Dim parts = 1;
  std::size_t col = 0, stride = 0;  // elements: a slice's columns; from slice to slice
};

std::size_t slice_elems(const ConvDims& d, Dim parts) {
  const std::size_t col = d.pointwise ? 0 : static_cast<std::size_t>(mul_dims(d.ckk, d.ohw));
  return add_sizes(col, parts > 1 ? static_cast<std::size_t>(mul_dims(d.F, d.ckk)) : 0);
}

// Float convolutions of stride 1 (but the pointwise ones, whose dw is one GEMM per image)
// take their weight gradient from kernels/conv_dw.hpp, before and apart from the loop over
// images, in the same workspace, on the paths where it is the faster (conv_dw_preferred).
bool direct_dw(const ConvDims& d) {
  return d.g.sh == 1 && d.g.sw == 1 && !d.pointwise && conv_rows_path::wide_rows(d.g.ow) && conv_dw_preferred();
}

ConvDwGeometry dw_geometry(const ConvDims& d) {
  ConvDwGeometry g;
  g.N = d.N;
  g.C = d.C;
  g.H = d.g.h;
  g.W = d.g.w;
  g.F = d.F;
  g.KH = d.g.kh;
  g.KW = d.g.kw;
  g.PH = d.g.ph;
  g.PW = d.g.pw;
  return g;
}

// What the plan sizes: a part per thread (op_threads() when the plan is made), at most one
// per image; or conv_dw's, when that is more.
std::size_t conv2d_workspace(const std::vector<Shape>& in, const Attrs& attrs) {
  const ConvDims d = conv_dims(in[0], in[1], attrs);
  const Dim threads = op_threads();
  const bool split = threads > 1 && d.N > 1 && mul_dims(mul_dims(d.N, d.F), mul_dims(d.ohw, d.ckk)) >= kConvThreadedWork;
  const Dim parts = split ? std::min(threads, d.N) : 1;
  const std::size_t images = mul_sizes(static_cast<std::size_t>(parts), slice_elems(d, parts));
  if (!direct_dw(d)) return images;
  const ConvDwGeometry g = dw_geometry(d);
  return std::max(images, conv_dw_workspace(g, conv_dw_parts(g, static_cast<int>(threads))));
}

// What a kernel may use: as many parts as the workspace holds, and no more than the
// threads there are now. `extra`: elements more per part, after its slice (the fused
// convolution + relu + max-pool's image output).
ConvSlices conv_slices(const ConvDims& d, std::size_t workspace_size, std::size_t extra = 0) {
  ConvSlices s;
  s.col = slice_elems(d, 1);
  const std::size_t multi = slice_elems(d, 2) + extra;
  const Dim fit = multi > 0 ? static_cast<Dim>(workspace_size / multi) : 0;
  s.parts = fit > 1 ? std::min<Dim>({fit, d.N, static_cast<Dim>(op_threads())}) : 1;
  s.stride = slice_elems(d, s.parts) + extra;
  return s;
}

// Where the forward writes image n's output y_n [F, OH, OW]: into y (plain conv2d), or,
// in the fused step, into a buffer of the part's, which the relu + max-pool then reads
// (PooledOutput below). image(n, out) gives the place, done(n, out) runs after it is
// written; `out` is the part's buffer.
template <class T>
struct ImageOutput {
  T* y;
  Dim fohw;
  T* image(Dim n, T*) const { return y + n * fohw; }
  void done(Dim, T*) const {}
};

// The convolution of the images into out's places; `sl` the workspace's slices, each
// followed by `extra` elements that out may use (its buffer).
template <class T, bool HasBias, class Out>
void conv2d_forward_to(const OpArgs<T>& a, const ConvDims& d, const ConvSlices& sl, std::size_t extra,
                       const Out& out) {
  const T* x = a.in[0].data;
  const T* w = a.in[1].data;
  const Dim chw = d.C * d.g.h * d.g.w;
  auto buffer = [&](int p) {
    return extra ? a.workspace + static_cast<std::size_t>(p) * sl.stride + (sl.stride - extra) : nullptr;
  };
  if constexpr (std::is_same_v<T, float>) {
    if (a.workspace && conv_rows_path::forward_fits(d.g, d.C, d.F, sl.col)) {
      const ConvRows c = conv_rows_path::forward(d.g, d.C, d.F, w, HasBias ? a.in[2].data : nullptr);
      parallel_parts(static_cast<int>(sl.parts), [&](int p, int parts) {
        float* xp = a.workspace + static_cast<std::size_t>(p) * sl.stride;
        float* buf = buffer(p);
        ConvRows cp = c;
        cp.xp = xp;
        for (Dim n = part_begin(d.N, p, parts); n < part_begin(d.N, p + 1, parts); ++n) {
          // The part's first image writes the padding's zeros, the others keep them.
          conv_rows_pad(x + n * chw, d.C, d.g.h, d.g.w, d.g.ph, d.g.pw, xp, n == part_begin(d.N, p, parts));
          cp.out = out.image(n, buf);
          conv_rows(cp);
          out.done(n, buf);
        }
      });
      return;
    }
  }
  parallel_parts(static_cast<int>(sl.parts), [&](int p, int parts) {
    T* ws = a.workspace ? a.workspace + static_cast<std::size_t>(p) * sl.stride : nullptr;
    T* buf = buffer(p);
    for (Dim n = part_begin(d.N, p, parts); n < part_begin(d.N, p + 1, parts); ++n) {
      const T* xn = x + n * chw;
      T* yn = out.image(n, buf);
      const T* col = xn;
      if (!d.pointwise) {  // the part's first image leaves the padding's zeros for the next
        conv_cols::im2col(xn, d.C, d.g, ws, n > part_begin(d.N, p, parts));
        col = ws;
      }
      T beta = T(0);
      if constexpr (HasBias) {  // y_n starts as the bias; the GEMM adds w . col onto it
        const T* b = a.in[2].data;
        for (Dim f = 0; f < d.F; ++f) std::fill(yn + f * d.ohw, yn + (f + 1) * d.ohw, b[f]);
        beta = T(1);
      }
      gemm<T>(false, false, d.F, d.ohw, d.ckk, T(1), w, col, beta, yn);
      out.done(n, buf);
    }
  });
}

// conv2d: x[N,C,H,W] * w[F,C,KH,KW] (+ b[F]) -> y[N,F,OH,OW]
// Per image: col = im2col(x_n) [CKK, OHW];  y_n[F, OHW] = w[F, CKK] . col (+ b[f] on row f)
// Float with stride 1 (ops/conv2d_rows.hpp): x_n padded into the part's slice, where col
// would be, and the same sums in the same order straight from it (small_sgemm's bits
// whenever its row tiles took the product, OH*OW > 12), with no col.
template <class T, bool HasBias>
void conv2d_forward(const OpArgs<T>& a) {
  const ConvDims d = conv_dims(a.in[0].shape, a.in[1].shape, *a.attrs);
  conv2d_forward_to<T, HasBias>(a, d, conv_slices(d, a.workspace_size), 0,
                                ImageOutput<T>{a.out[0].data, d.F * d.ohw});
}

// ---- conv2d, relu and a 2x2 stride-2 max_pool2d as one step (OpDef::then_relu_pool) -------
//
// Inference: each image's convolution goes to a buffer of its part's (the workspace after
// the part's slice, F*OH*OW elements) and is pooled from there, with relu, while it is in
// the cache (ops/pool_2x2.hpp, as max_pool2d's after_relu kernels): the convolution's
// output and relu's never go to memory. Every value is the one the three steps compute.
// Forward only: a training plan keeps the convolution's output for its backward.

template <class T>
struct PooledOutput {
  Window2d g;  // the pool's, over one plane of y_n
  Dim F;
  T* pooled;
  T* image(Dim, T* buf) const { return buf; }
  // The planes of y_n lie one after the other in buf, and so do their pooled planes in
  // the output: each plane but the last may spill into the next (pool_2x2_plane).
  void done(Dim n, T* buf) const {
    const Dim in_plane = g.h * g.w, out_plane = g.oh * g.ow;
    T* pn = pooled + n * F * out_plane;
    for (Dim f = 0; f < F; ++f) pool_2x2::pool_2x2_plane<true>(g, buf + f * in_plane, pn + f * out_plane, f + 1 < F);
  }
};

// The pool's window over one plane of the convolution's output: 2x2, stride 2.
Window2d relu_pool_window(const ConvDims& d) {
  Window2d g;
  g.h = d.g.oh;
  g.w = d.g.ow;
  g.kh = g.kw = g.sh = g.sw = 2;
  g.oh = g.h / 2;
  g.ow = g.w / 2;
  return g;
}

std::size_t image_elems(const ConvDims& d) { return static_cast<std::size_t>(mul_dims(d.F, d.ohw)); }

// The fused step's workspace: conv2d's parts, each with an image's output after its slice.
std::size_t conv2d_relu_pool_workspace(const std::vector<Shape>& in, const Attrs& attrs) {
  const ConvDims d = conv_dims(in[0], in[1], attrs);
  const Dim threads = op_threads();
  const bool split = threads > 1 && d.N > 1 && mul_dims(mul_dims(d.N, d.F), mul_dims(d.ohw, d.ckk)) >= kConvThreadedWork;
  const Dim parts = split ? std::min(threads, d.N) : 1;
  return mul_sizes(static_cast<std::size_t>(parts), add_sizes(slice_elems(d, parts), image_elems(d)));
}

template <class T, bool HasBias>
void conv2d_relu_pool_forward(const OpArgs<T>& a) {
  const ConvDims d = conv_dims(a.in[0].shape, a.in[1].shape, *a.attrs);
  const Window2d g = relu_pool_window(d);
  const Shape& pooled = a.out[0].shape;
  if (d.g.oh < 2 || d.g.ow < 2 || pooled.size() != 4 || pooled[0] != d.N || pooled[1] != d.F || pooled[2] != g.oh ||
      pooled[3] != g.ow)
    throw ShapeError("conv2d + relu + max_pool2d: the pooled output " + shape_str(pooled) +
                     " is not a 2x2 stride-2 pool of the convolution's output");
  const std::size_t extra = image_elems(d);
  if (!a.workspace || a.workspace_size < add_sizes(slice_elems(d, 1), extra))
    throw ShapeError("conv2d + relu + max_pool2d: a workspace of " + std::to_string(a.workspace_size) +
                     " elements holds no image's output of " + std::to_string(extra));
  conv2d_forward_to<T, HasBias>(a, d, conv_slices(d, a.workspace_size, extra), extra,
                                PooledOutput<T>{g, d.F, a.out[0].data});
}

// y_n = w . col(x_n) + b  =>
//   dw[F, CKK]     += dy_n[F, OHW] . col(x_n)^T   summed over n (beta: the first image
//                                                 overwrites unless dw accumulates)
//   dcol[CKK, OHW]  = w^T . dy_n,   dx_n = col2im(dcol)  (the adjoint of im2col)
//   db[f]           = sum_{n, oh, ow} dy[n, f, oh, ow]  (in double: conv_cols::lane_sum
//                                                 per row, the rows in image order)
// A part's workspace slice holds col(x_n) for dw, then dcol for dx, then its partial dw.
// Float stride-1 convolutions compute dw with conv_dw instead (direct_dw), first, in the
// whole workspace; the loop over images is then left dx and db.
// WithDx and WithDw false: db alone, dx and dw left to the caller (the Winograd training
// op).
template <class T, bool HasBias, bool WithDx = true, bool WithDw = true>
void conv2d_backward(const OpArgs<T>& a) {
  const ConvDims d = conv_dims(a.in[0].shape, a.in[1].shape, *a.attrs);
  const ConvSlices sl = conv_slices(d, a.workspace_size);
  const T* x = a.in[0].data;
  const T* w = a.in[1].data;
  const T* dy = a.d_out[0].data;
  const Dim chw = d.C * d.g.h * d.g.w, fohw = d.F * d.ohw;

  T* dw = WithDw ? a.d_in[1].data : nullptr;
  T* dx = WithDx ? a.d_in[0].data : nullptr;
  if constexpr (std::is_same_v<T, float>) {
    // conv_dw's threads split the filters or the channels, not the images: dw has the same
    // bits at any thread count.
    if (dw && direct_dw(d) && a.workspace_size >= conv_dw_workspace(dw_geometry(d), 1)) {
      conv_dw(dw_geometry(d), x, dy, dw, a.accumulates(1), a.workspace, a.workspace_size);
      dw = nullptr;
    }
  }
  const std::size_t dw_size = static_cast<std::size_t>(d.F * d.ckk);
  // Float with stride 1: dx_n by conv_rows (ops/conv2d_rows.hpp), no dcol, no col2im.
  bool dx_rows = false;
  if constexpr (std::is_same_v<T, float>)
    dx_rows = dx && a.workspace && conv_rows_path::data_gradient_fits(d.g, d.C, d.F, sl.col);
  parallel_parts(static_cast<int>(sl.parts), [&](int p, int parts) {
    if constexpr (HasBias) {  // each part its own filters' db: the same bits for any split
      if (a.d_in[2]) {
        T* db = a.d_in[2].data;
        const bool add = a.accumulates(2);
        for (Dim f = part_begin(d.F, p, parts); f < part_begin(d.F, p + 1, parts); ++f) {
          double s = 0;
          for (Dim n = 0; n < d.N; ++n)
            s += conv_cols::lane_sum(dy + n * fohw + f * d.ohw, static_cast<std::size_t>(d.ohw));
          db[f] = add ? T(db[f] + T(s)) : T(s);
        }
      }
    }
    T* ws = a.workspace ? a.workspace + static_cast<std::size_t>(p) * sl.stride : nullptr;
    // Part 0 sums into dw (onto what is there when it accumulates), the others into their
    // own partial dw.
    T* dw_part = p == 0 ? dw : dw ? ws + sl.col : nullptr;
    const bool add_first = p == 0 && a.accumulates(1);
    const Dim first = part_begin(d.N, p, parts), last = part_begin(d.N, p + 1, parts);
    if (dw_part && first == last && !add_first) std::fill(dw_part, dw_part + dw_size, T(0));
    for (Dim n = first; n < last; ++n) {
      const T* xn = x + n * chw;
      const T* dyn = dy + n * fohw;
      if (dw_part) {
        const T* col = xn;
        if (!d.pointwise) {  // without dx, ws still holds the last image's col, zeros and all
          conv_cols::im2col(xn, d.C, d.g, ws, !dx && n > first);
          col = ws;
        }
        const T beta = n > first || add_first ? T(1) : T(0);
        gemm<T>(false, true, d.F, d.ckk, d.ohw, T(1), dyn, col, beta, dw_part);
      }
      if (dx) {
        T* dxn = dx + n * chw;
        if constexpr (std::is_same_v<T, float>) {
          if (dx_rows) {  // dy_n padded into the slice, where col was (the last block: continue)
            // The zeros are kept from the part's previous image unless dw's col overwrote them.
            conv_rows_path::data_gradient_image(d.g, d.C, d.F, w, dyn, ws, dw_part || n == first,
                                                a.accumulates(0), dxn);
            continue;
          }
        }
        if (d.pointwise) {  // dcol is dx_n itself
          gemm<T>(true, false, d.C, d.ohw, d.F, T(1), w, dyn, a.accumulates(0) ? T(1) : T(0), dxn);
        } else {
          gemm<T>(true, false, d.ckk, d.ohw, d.F, T(1), w, dyn, T(0), ws);
          if (!a.accumulates(0)) std::fill(dxn, dxn + chw, T(0));
          conv_cols::col2im_add(ws, d.C, d.g, dxn);
        }
      }
    }
  });
  if (dw)
    for (Dim p = 1; p < sl.parts; ++p) {
      const T* part = a.workspace + static_cast<std::size_t>(p) * sl.stride + sl.col;
      for (std::size_t i = 0; i < dw_size; ++i) dw[i] += part[i];
    }
}

// The bias is fused into the convolution (the GEMM adds onto a bias-filled output) rather
// than left to a separate op: no extra pass over y, no extra arena buffer. conv2d_nobias
// exists for the convolution followed by batchnorm, where a bias is redundant (batchnorm
// subtracts it again in Train mode, so its gradient is exactly zero).
template <bool HasBias>
OpDef conv2d_def(const char* name) {
  OpDef d;
  d.name = name;
  d.inputs = HasBias ? std::vector<std::string>{"x", "w", "b"} : std::vector<std::string>{"x", "w"};
  d.outputs = {"y"};
  d.attrs = {{"stride", AttrType::Ints, false, std::vector<std::int64_t>{1, 1}},
             {"padding", AttrType::Ints, false, std::vector<std::int64_t>{0, 0}}};
  d.shape = conv2d_shape<HasBias>;
  d.differentiable = std::vector<bool>(d.inputs.size(), true);
  // dw reads x (through col), dx reads w; db reads neither.
  d.backward_reads_in = HasBias ? std::vector<bool>{true, true, false} : std::vector<bool>{true, true};
  d.backward_reads_out = {false};
  d.workspace = conv2d_workspace;
  d.f32 = dispatch_kernels<float, &conv2d_forward<float, HasBias>, &conv2d_backward<float, HasBias>>();
  d.f64 = dispatch_kernels<double, &conv2d_forward<double, HasBias>, &conv2d_backward<double, HasBias>>();
  d.then_relu_pool.f32 = dispatch_kernels<float, &conv2d_relu_pool_forward<float, HasBias>, nullptr>();
  d.then_relu_pool.f64 = dispatch_kernels<double, &conv2d_relu_pool_forward<double, HasBias>, nullptr>();
  d.then_relu_pool.workspace = conv2d_relu_pool_workspace;
  return d;
}

}  // namespace

const OpDef& conv2d_op() {
  static const OpDef def = conv2d_def<true>("conv2d");
  return def;
}

const OpDef& conv2d_nobias_op() {
  static const OpDef def = conv2d_def<false>("conv2d_nobias");
  return def;
}

template <class T>
const Kernels<T>& conv2d_bias_gradient_kernels() {
  static const Kernels<T> k = dispatch_kernels<T, &conv2d_forward<T, true>, &conv2d_backward<T, true, false, false>>();
  return k;
}
template const Kernels<float>& conv2d_bias_gradient_kernels<float>();
template const Kernels<double>& conv2d_bias_gradient_kernels<double>();

}  // namespace plangrad
