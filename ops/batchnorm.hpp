// Batch normalization, per feature of x[N,C] or per channel of x[N,C,H,W]:
//   batchnorm(x, gamma[C], beta[C], running_mean[C], running_var[C]) -> y (x's shape)
// Attributes: eps (Float, default 1e-5), momentum (Float, default 0.1).
// Train mode normalizes with the batch statistics and updates the running statistics
// (state inputs, PyTorch's convention: the running variance takes the unbiased batch
// variance); Eval mode normalizes with the running statistics.
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& batchnorm_op();

}  // namespace plangrad
