// conv2d's memory-bound passes around its GEMMs: im2col, col2im and the bias gradient's
// row sums. Templates in a header so that they inline into each kernel path's copy of the
// conv2d kernels (dispatch_kernels), and so that tests can hold each fast path against
// the general one.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

#include "ops/conv2d.hpp"
#include "ops/kernel_util.hpp"

namespace plangrad::conv_cols {

// With stride 1 along the width, output column ow of kernel column j reads input column
// iw = ow + j - pw: the columns ow in [lo, hi) read inside the row, the rest padding.
inline std::pair<Dim, Dim> inside(const Window2d& g, Dim j) {
  const Dim shift = j - g.pw;
  const Dim lo = std::clamp<Dim>(-shift, 0, g.ow);
  return {lo, std::clamp<Dim>(g.w - shift, lo, g.ow)};
}

// Stride 1 both ways and OW == W (the "same" padding 2 pw == KW - 1, or KW == 1 with no
// width padding): col row (c, i, j), read as one run over all OH*OW columns, is x_n's
// plane c read as one run shifted by (i - ph) * W + j - pw, except at the padding. So
// each col row is one long copy (one long addition for col2im) plus a fix-up of the
// padding columns, instead of a short copy per output row.
inline bool flat(const Window2d& g) { return g.sh == 1 && g.sw == 1 && g.ow == g.w; }

// For col row (i, j) of a flat window: the output rows [oh_lo, oh_hi) whose input row is
// inside the plane; the run [k_lo, k_hi) of col columns whose flat source index
// k + offset lies in [0, H*W); and the row's inside columns [lo, hi).
struct FlatRow {
  Dim oh_lo, oh_hi, k_lo, k_hi, offset, lo, hi;
};

inline FlatRow flat_row(const Window2d& g, Dim i, Dim j) {
  FlatRow r;
  r.oh_lo = std::clamp<Dim>(g.ph - i, 0, g.oh);
  r.oh_hi = std::clamp<Dim>(g.h + g.ph - i, r.oh_lo, g.oh);
  r.offset = (i - g.ph) * g.w + (j - g.pw);
  r.k_lo = std::min<Dim>(std::max<Dim>(r.oh_lo * g.ow, -r.offset), r.oh_hi * g.ow);
  r.k_hi = std::max<Dim>(r.k_lo, std::min<Dim>(r.oh_hi * g.ow, g.h * g.w - r.offset));
  std::tie(r.lo, r.hi) = inside(g, j);
  return r;
}

// Zeros in the padding columns [0, lo) and [hi, OW) of the output rows [oh_lo, oh_hi) of
// one col row: at most pw columns each side, written a column at a time (a strided loop,
// which the compiler does not turn into a memset call per output row).
template <class T>
void zero_padding_columns(T* row, const Window2d& g, const FlatRow& f) {
  for (Dim ow = 0; ow < f.lo; ++ow)
    for (Dim oh = f.oh_lo; oh < f.oh_hi; ++oh) row[oh * g.ow + ow] = T(0);
  for (Dim ow = f.hi; ow < g.ow; ++ow)
    for (Dim oh = f.oh_lo; oh < f.oh_hi; ++oh) row[oh * g.ow + ow] = T(0);
}

// im2col, any geometry: x_n[C,H,W] -> col[C*KH*KW, OH*OW],
// col[(c*KH + i)*KW + j, oh*OW + ow] = x_n[c, oh*sh - ph + i, ow*sw - pw + j], 0 in the padding
template <class T>
void im2col_general(const T* x, Dim C, const Window2d& g, T* col) {
  const Dim ohw = g.oh * g.ow;
  for (Dim c = 0; c < C; ++c) {
    const T* xc = x + c * g.h * g.w;
    for (Dim i = 0; i < g.kh; ++i)
      for (Dim j = 0; j < g.kw; ++j) {
        T* row = col + ((c * g.kh + i) * g.kw + j) * ohw;
        for (Dim oh = 0; oh < g.oh; ++oh) {
          T* r = row + oh * g.ow;
          const Dim ih = oh * g.sh - g.ph + i;
          if (ih < 0 || ih >= g.h) {
            std::fill(r, r + g.ow, T(0));
            continue;
          }
          const T* xr = xc + ih * g.w;
          if (g.sw == 1) {  // iw = ow + shift: zeros, a contiguous copy, zeros
            const auto [lo, hi] = inside(g, j);
            std::fill(r, r + lo, T(0));
            std::copy(xr + lo + j - g.pw, xr + hi + j - g.pw, r + lo);
            std::fill(r + hi, r + g.ow, T(0));
            continue;
          }
          for (Dim ow = 0; ow < g.ow; ++ow) {
            const Dim iw = ow * g.sw - g.pw + j;
            r[ow] = iw >= 0 && iw < g.w ? xr[iw] : T(0);
          }
        }
      }
  }
}

// im2col of a flat window: the same col as im2col_general. `padding_kept`: col holds
// this window's im2col of another image, whose zero rows need no rewriting.
template <class T>
void im2col_flat(const T* x, Dim C, const Window2d& g, T* col, bool padding_kept = false) {
  const Dim ohw = g.oh * g.ow;
  for (Dim c = 0; c < C; ++c) {
    const T* xc = x + c * g.h * g.w;
    for (Dim i = 0; i < g.kh; ++i)
      for (Dim j = 0; j < g.kw; ++j) {
        T* row = col + ((c * g.kh + i) * g.kw + j) * ohw;
        const FlatRow f = flat_row(g, i, j);
        if (!padding_kept) std::fill(row, row + f.k_lo, T(0));
        std::copy(xc + f.k_lo + f.offset, xc + f.k_hi + f.offset, row + f.k_lo);
        if (!padding_kept) std::fill(row + f.k_hi, row + ohw, T(0));
        // The run also copied, into each row's padding columns, the neighbouring input
        // row's edge: put the zeros back.
        zero_padding_columns(row, g, f);
      }
  }
}

template <class T>
void im2col(const T* x, Dim C, const Window2d& g, T* col, bool padding_kept = false) {
  if (flat(g))
    im2col_flat(x, C, g, col, padding_kept);
  else
    im2col_general(x, C, g, col);
}

// col2im, any geometry: dcol[C*KH*KW, OH*OW] -> dx_n[C,H,W], adding (windows overlap;
// padding drops out), the adjoint of im2col:
// dx_n[c, oh*sh - ph + i, ow*sw - pw + j] += dcol[(c*KH + i)*KW + j, oh*OW + ow]
template <class T>
void col2im_add_general(const T* dcol, Dim C, const Window2d& g, T* dx) {
  const Dim ohw = g.oh * g.ow;
  for (Dim c = 0; c < C; ++c) {
    T* dxc = dx + c * g.h * g.w;
    for (Dim i = 0; i < g.kh; ++i)
      for (Dim j = 0; j < g.kw; ++j) {
        const T* row = dcol + ((c * g.kh + i) * g.kw + j) * ohw;
        for (Dim oh = 0; oh < g.oh; ++oh) {
          const Dim ih = oh * g.sh - g.ph + i;
          if (ih < 0 || ih >= g.h) continue;
          const T* r = row + oh * g.ow;
          T* dxr = dxc + ih * g.w;
          if (g.sw == 1) {  // the same additions, in the same order, over the columns inside
            const auto [lo, hi] = inside(g, j);
            T* dst = dxr + j - g.pw;
            for (Dim ow = lo; ow < hi; ++ow) dst[ow] += r[ow];
            continue;
          }
          for (Dim ow = 0; ow < g.ow; ++ow) {
            const Dim iw = ow * g.sw - g.pw + j;
            if (iw >= 0 && iw < g.w) dxr[iw] += r[ow];
          }
        }
      }
  }
}

// col2im of a flat window, which overwrites dcol's padding columns with zeros (dcol is
// scratch): then each col row is one run of additions. Each dx element receives its
// col entries in col2im_add_general's order; the extra +0 a padding column adds leaves
// every value but a -0 (which dx, starting from +0, only holds when it accumulates onto
// another gradient's -0) as it was.
template <class T>
void col2im_add_flat(T* dcol, Dim C, const Window2d& g, T* dx) {
  const Dim ohw = g.oh * g.ow;
  for (Dim c = 0; c < C; ++c) {
    T* dxc = dx + c * g.h * g.w;
    for (Dim i = 0; i < g.kh; ++i)
      for (Dim j = 0; j < g.kw; ++j) {
        T* row = dcol + ((c * g.kh + i) * g.kw + j) * ohw;
        const FlatRow f = flat_row(g, i, j);
        zero_padding_columns(row, g, f);
        T* dst = dxc + f.offset;
        for (Dim k = f.k_lo; k < f.k_hi; ++k) dst[k] += row[k];
      }
  }
}

template <class T>
void col2im_add(T* dcol, Dim C, const Window2d& g, T* dx) {
  if (flat(g))
    col2im_add_flat(dcol, C, g, dx);
  else
    col2im_add_general(dcol, C, g, dx);
}

// The sum of r[0, n) in double: element k goes to lane k % kLanes, the lanes are combined
// in one fixed tree (lanes_total). The order is the same whatever width the compiler
// vectorizes the lane loop at, so every kernel path gives the same bits.
constexpr std::size_t kLanes = 16;

template <class T>
double lane_sum(const T* r, std::size_t n) {
  double acc[kLanes] = {};
  std::size_t k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (std::size_t l = 0; l < kLanes; ++l) acc[l] += static_cast<double>(r[k + l]);
  for (std::size_t l = 0; k + l < n; ++l) acc[l] += static_cast<double>(r[k + l]);
  return lanes_total(acc);
}

}  // namespace plangrad::conv_cols
