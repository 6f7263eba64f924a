// 2-D convolution, NCHW, by im2col into the op's workspace and one GEMM per image (float
// with stride 1: an implicit GEMM over the padded image, kernels/conv_rows.hpp):
//   conv2d(x[N,C,H,W], w[F,C,KH,KW], b[F]) -> y[N,F,OH,OW]
//   conv2d_nobias(x[N,C,H,W], w[F,C,KH,KW]) -> y[N,F,OH,OW]
// Attributes: stride [sh, sw] (default [1, 1]), padding [ph, pw] (default [0, 0]);
// OH = (H + 2 ph - KH) / sh + 1, OW likewise. Both ops share one pair of kernels.
//
// Also the window geometry that max_pool2d shares with conv2d.
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& conv2d_op();
const OpDef& conv2d_nobias_op();

// Below this many multiply-adds a batch's convolution is not worth splitting between
// threads (conv2d's and the Winograd ops' workspaces hold a part per thread above it).
constexpr Dim kConvThreadedWork = Dim(1) << 21;

// conv2d's kernels with a backward that writes db alone (d_in[0] and d_in[1] are not
// read): what conv2d_by_winograd (ops/conv2d_winograd.hpp) keeps of the direct
// convolution, with its bits. It uses no workspace.
template <class T>
const Kernels<T>& conv2d_bias_gradient_kernels();

// A kh x kw window sliding with stride (sh, sw) over an H x W plane padded by (ph, pw)
// on each side; the output plane is oh x ow.
struct Window2d {
  Dim h = 0, w = 0;    // input plane
  Dim kh = 0, kw = 0;  // window
  Dim sh = 1, sw = 1;  // stride
  Dim ph = 0, pw = 0;  // padding, each side
  Dim oh = 0, ow = 0;  // output plane
};

// An Ints attribute of exactly two entries; a ShapeError naming it otherwise.
void read_pair(const Attrs& attrs, const char* name, Dim& first, Dim& second);

// Checks strides (> 0), padding (>= 0) and that the window fits the padded plane, and
// fills oh, ow. `role` and `x` name the input in error messages.
void finish_window(Window2d& g, const Shape& x, const char* role);

// A pool's window over x [N, C, H, W] (C, H, W positive): attributes kernel [kh, kw],
// stride (empty: the kernel) and padding, checked by finish_window. Each pool adds its own
// bound on the padding.
Window2d pool_window(const Shape& x, const Attrs& attrs);

}  // namespace plangrad
