// Max pooling, NCHW:
//   max_pool2d(x[N,C,H,W]) -> y[N,C,OH,OW],  OH = (H + 2 ph - kh) / sh + 1, OW likewise
// Attributes: kernel [kh, kw] (required), stride [sh, sw] (default: the kernel; the empty
// list [] means "the kernel"), padding [ph, pw] (default [0, 0], each below the kernel).
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& max_pool2d_op();

}  // namespace plangrad
