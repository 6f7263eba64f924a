#include "ops/conv2d.hpp"

#include <algorithm>

#include "ops/blas.hpp"
#include "ops/kernel_util.hpp"

namespace plangrad {

namespace {

}  // namespace

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
  const Dim padded_h = g.h + 2 * g.ph, padded_w = g.w + 2 * g.pw;
  if (g.kh > padded_h || g.kw > padded_w)
    throw ShapeError("kernel " + std::to_string(g.kh) + "x" + std::to_string(g.kw) +
                     " is larger than the padded input " + std::to_string(padded_h) + "x" +
                     std::to_string(padded_w) + " (" + role + " " + shape_str(x) + ", padding " +
                     ints_str({g.ph, g.pw}) + ")");
  g.oh = (padded_h - g.kh) / g.sh + 1;
  g.ow = (padded_w - g.kw) / g.sw + 1;
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
  d.ckk = d.C * d.g.kh * d.g.kw;
  d.ohw = d.g.oh * d.g.ow;
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
  return {{d.N, d.F, d.g.oh, d.g.ow}};
}

// One image's columns: C*KH*KW rows of OH*OW; the forward GEMM reads them, the backward
// reuses the same memory first for col (dw) and then for dcol (dx).
std::size_t conv2d_workspace(const std::vector<Shape>& in, const Attrs& attrs) {
  const ConvDims d = conv_dims(in[0], in[1], attrs);
  return d.pointwise ? 0 : static_cast<std::size_t>(d.ckk * d.ohw);
}

// im2col: x_n[C,H,W] -> col[C*KH*KW, OH*OW]
// col[(c*KH + i)*KW + j, oh*OW + ow] = x_n[c, oh*sh - ph + i, ow*sw - pw + j], 0 in the padding
template <class T>
void im2col(const T* x, const ConvDims& d, T* col) {
  const Window2d& g = d.g;
  for (Dim c = 0; c < d.C; ++c) {
    const T* xc = x + c * g.h * g.w;
    for (Dim i = 0; i < g.kh; ++i)
      for (Dim j = 0; j < g.kw; ++j) {
        T* row = col + ((c * g.kh + i) * g.kw + j) * d.ohw;
        for (Dim oh = 0; oh < g.oh; ++oh) {
          T* r = row + oh * g.ow;
          const Dim ih = oh * g.sh - g.ph + i;
          if (ih < 0 || ih >= g.h) {
            std::fill(r, r + g.ow, T(0));
            continue;
          }
          const T* xr = xc + ih * g.w;
          for (Dim ow = 0; ow < g.ow; ++ow) {
            const Dim iw = ow * g.sw - g.pw + j;
            r[ow] = iw >= 0 && iw < g.w ? xr[iw] : T(0);
          }
        }
      }
  }
}

// col2im: dcol[C*KH*KW, OH*OW] -> dx_n[C,H,W], adding (windows overlap; padding drops out)
// the adjoint of im2col: dx_n[c, oh*sh - ph + i, ow*sw - pw + j] += dcol[(c*KH + i)*KW + j, oh*OW + ow]
template <class T>
void col2im_add(const T* dcol, const ConvDims& d, T* dx) {
  const Window2d& g = d.g;
  for (Dim c = 0; c < d.C; ++c) {
    T* dxc = dx + c * g.h * g.w;
    for (Dim i = 0; i < g.kh; ++i)
      for (Dim j = 0; j < g.kw; ++j) {
        const T* row = dcol + ((c * g.kh + i) * g.kw + j) * d.ohw;
        for (Dim oh = 0; oh < g.oh; ++oh) {
          const Dim ih = oh * g.sh - g.ph + i;
          if (ih < 0 || ih >= g.h) continue;
          const T* r = row + oh * g.ow;
          T* dxr = dxc + ih * g.w;
          for (Dim ow = 0; ow < g.ow; ++ow) {
            const Dim iw = ow * g.sw - g.pw + j;
            if (iw >= 0 && iw < g.w) dxr[iw] += r[ow];
          }
        }
      }
  }
}

// conv2d: x[N,C,H,W] * w[F,C,KH,KW] (+ b[F]) -> y[N,F,OH,OW]
// Per image: col = im2col(x_n) [CKK, OHW];  y_n[F, OHW] = w[F, CKK] . col (+ b[f] on row f)
template <class T, bool HasBias>
void conv2d_forward(const OpArgs<T>& a) {
  const ConvDims d = conv_dims(a.in[0].shape, a.in[1].shape, *a.attrs);
  const T* x = a.in[0].data;
  const T* w = a.in[1].data;
  T* y = a.out[0].data;
  const Dim chw = d.C * d.g.h * d.g.w, fohw = d.F * d.ohw;
  for (Dim n = 0; n < d.N; ++n) {
    const T* xn = x + n * chw;
    T* yn = y + n * fohw;
    const T* col = xn;
    if (!d.pointwise) {
      im2col(xn, d, a.workspace);
      col = a.workspace;
    }
    T beta = T(0);
    if constexpr (HasBias) {  // y_n starts as the bias; the GEMM adds w . col onto it
      const T* b = a.in[2].data;
      for (Dim f = 0; f < d.F; ++f) std::fill(yn + f * d.ohw, yn + (f + 1) * d.ohw, b[f]);
      beta = T(1);
    }
    gemm<T>(false, false, d.F, d.ohw, d.ckk, T(1), w, col, beta, yn);
  }
}

// y_n = w . col(x_n) + b  =>
//   dw[F, CKK]     += dy_n[F, OHW] . col(x_n)^T   summed over n (beta: the first image
//                                                 overwrites unless dw accumulates)
//   dcol[CKK, OHW]  = w^T . dy_n,   dx_n = col2im(dcol)  (the adjoint of im2col)
//   db[f]           = sum_{n, oh, ow} dy[n, f, oh, ow]
// The workspace holds col(x_n) for dw, then dcol for dx: the same size as the forward's.
template <class T, bool HasBias>
void conv2d_backward(const OpArgs<T>& a) {
  const ConvDims d = conv_dims(a.in[0].shape, a.in[1].shape, *a.attrs);
  const T* x = a.in[0].data;
  const T* w = a.in[1].data;
  const T* dy = a.d_out[0].data;
  const Dim chw = d.C * d.g.h * d.g.w, fohw = d.F * d.ohw;

  if constexpr (HasBias) {
    if (a.d_in[2]) {
      T* db = a.d_in[2].data;
      if (!a.accumulates(2)) std::fill(db, db + d.F, T(0));
      for (Dim n = 0; n < d.N; ++n)
        for (Dim f = 0; f < d.F; ++f) {
          const T* r = dy + n * fohw + f * d.ohw;
          T s = T(0);
          for (Dim p = 0; p < d.ohw; ++p) s += r[p];
          db[f] += s;
        }
    }
  }

  T* dw = a.d_in[1].data;
  T* dx = a.d_in[0].data;
  if (dw && d.N == 0 && !a.accumulates(1)) std::fill(dw, dw + d.F * d.ckk, T(0));
  for (Dim n = 0; n < d.N; ++n) {
    const T* xn = x + n * chw;
    const T* dyn = dy + n * fohw;
    if (dw) {
      const T* col = xn;
      if (!d.pointwise) {
        im2col(xn, d, a.workspace);
        col = a.workspace;
      }
      const T beta = n > 0 || a.accumulates(1) ? T(1) : T(0);
      gemm<T>(false, true, d.F, d.ckk, d.ohw, T(1), dyn, col, beta, dw);
    }
    if (dx) {
      T* dxn = dx + n * chw;
      if (d.pointwise) {  // dcol is dx_n itself
        gemm<T>(true, false, d.C, d.ohw, d.F, T(1), w, dyn, a.accumulates(0) ? T(1) : T(0), dxn);
      } else {
        gemm<T>(true, false, d.ckk, d.ohw, d.F, T(1), w, dyn, T(0), a.workspace);
        if (!a.accumulates(0)) std::fill(dxn, dxn + chw, T(0));
        col2im_add(a.workspace, d, dxn);
      }
    }
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
  d.f32 = Kernels<float>{&conv2d_forward<float, HasBias>, &conv2d_backward<float, HasBias>};
  d.f64 = Kernels<double>{&conv2d_forward<double, HasBias>, &conv2d_backward<double, HasBias>};
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

}  // namespace plangrad
