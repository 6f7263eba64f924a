// conv2d's float forward and data gradient for stride 1 by kernels/conv_rows.hpp: the
// image (or dy) zero-padded once into the part's workspace, then an implicit GEMM over its
// shifted rows; no im2col, no col2im. Other geometries and double keep im2col + GEMM.
#pragma once

#include <cstdint>
#include <limits>

#include "kernels/conv_rows.hpp"
#include "ops/conv2d.hpp"

namespace plangrad::conv_rows_path {

// conv_rows and conv_dw run their vectors of 16 along an output row: a row of 7 or 4
// columns leaves most lanes empty, and there im2col + GEMM over the whole plane (OH*OW
// columns) is the faster path. Rows that fill at least 3/4 of their vectors take them.
inline bool wide_rows(Dim w) { return w > 0 && 4 * w >= 3 * 16 * ((w + 15) / 16); }

// Whether conv_rows takes a stride-1 window over `planes` padded planes of hp x wp, with
// `room` elements of workspace for them and filters of `w_elems` elements.
inline bool fits(const Window2d& g, Dim planes, Dim hp, Dim wp, std::size_t room, Dim w_elems) {
  constexpr Dim kOffsets = std::numeric_limits<std::int32_t>::max();  // conv_rows' offset tables
  const Dim padded = planes * hp * wp;
  return g.sh == 1 && g.sw == 1 && planes * g.kh * g.kw <= kConvRowsMaxTerms && padded <= kOffsets &&
         w_elems <= kOffsets && static_cast<std::size_t>(padded) <= room;
}

// The forward: y_n [F, OH, OW] from x_n padded by (ph, pw) into xp [C, H + 2ph, W + 2pw].
inline ConvRows forward(const Window2d& g, Dim C, Dim F, const float* w, const float* bias) {
  ConvRows c;
  c.M = F;
  c.P = C;
  c.KH = g.kh;
  c.KW = g.kw;
  c.HP = g.h + 2 * g.ph;
  c.WP = g.w + 2 * g.pw;
  c.a = w;
  c.sm = C * g.kh * g.kw;
  c.sp = g.kh * g.kw;
  c.si = g.kw;
  c.sj = 1;
  c.bias = bias;
  return c;
}

inline bool forward_fits(const Window2d& g, Dim C, Dim F, std::size_t room) {
  return wide_rows(g.ow) && fits(g, C, g.h + 2 * g.ph, g.w + 2 * g.pw, room, F * C * g.kh * g.kw);
}

// The data gradient of a stride-1 window is the same convolution of dy padded by
// (KH-1-ph, KW-1-pw) with the filters transposed and flipped:
//   dx_n[c, h, w] = sum over (f, i, j) of w[f, c, KH-1-i, KW-1-j] * dyp[f, h + i, w + j].
// Padding wider than KH-1 (a negative padding of dy) is left to col2im.
inline Dim dx_pad_h(const Window2d& g) { return g.kh - 1 - g.ph; }
inline Dim dx_pad_w(const Window2d& g) { return g.kw - 1 - g.pw; }

inline ConvRows data_gradient(const Window2d& g, Dim C, Dim F, const float* w) {
  ConvRows c;
  c.M = C;
  c.P = F;
  c.KH = g.kh;
  c.KW = g.kw;
  c.HP = g.oh + 2 * dx_pad_h(g);
  c.WP = g.ow + 2 * dx_pad_w(g);
  c.a = w + (g.kh - 1) * g.kw + (g.kw - 1);
  c.sm = g.kh * g.kw;
  c.sp = C * g.kh * g.kw;
  c.si = -g.kw;
  c.sj = -1;
  return c;
}

// dx_n [C, H, W] (added to when `accumulate`) from dy_n, padded into ws (with its zeros
// when `borders`, else keeping a previous call's). Not inlined into conv2d's backward,
// whose other branches then compile as they did without it.
[[gnu::noinline]] inline void data_gradient_image(const Window2d& g, Dim C, Dim F, const float* w, const float* dyn,
                                                  float* ws, bool borders, bool accumulate, float* dxn) {
  conv_rows_pad(dyn, F, g.oh, g.ow, dx_pad_h(g), dx_pad_w(g), ws, borders);
  ConvRows c = data_gradient(g, C, F, w);
  c.xp = ws;
  c.beta = accumulate ? 1.0f : 0.0f;
  c.out = dxn;
  conv_rows(c);
}

inline bool data_gradient_fits(const Window2d& g, Dim C, Dim F, std::size_t room) {
  return wide_rows(g.w) && dx_pad_h(g) >= 0 && dx_pad_w(g) >= 0 &&
         fits(g, F, g.oh + 2 * dx_pad_h(g), g.ow + 2 * dx_pad_w(g), room, F * C * g.kh * g.kw);
}

}  // namespace plangrad::conv_rows_path
