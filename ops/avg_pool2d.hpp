// Average pooling, NCHW (PyTorch's F.avg_pool2d with ceil_mode=False):
//   avg_pool2d(x[N,C,H,W]) -> y[N,C,OH,OW],  OH = (H + 2 ph - kh) / sh + 1, OW likewise
// Attributes: kernel [kh, kw] (required), stride [sh, sw] (default: the kernel; the empty
// list [] means "the kernel"), padding [ph, pw] (default [0, 0], each at most half the
// kernel), count_include_pad (default 1: padding cells count in the divisor, as PyTorch's
// default; 0: only the window's real cells do).
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& avg_pool2d_op();

}  // namespace plangrad
