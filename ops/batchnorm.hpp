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

/// The largest plane (H*W values) that batchnorm's then_relu_pool kernels take: they hold
/// one or two planes of y and its gradient on the stack.
inline constexpr Dim kReluPoolPlane = 4096;

/// Whether batchnorm's then_relu_pool kernels (batchnorm, relu and a 2x2 stride-2
/// max_pool2d without padding as one step) take x of this shape: [N, C, H, W] with
/// H, W >= 2 and H*W <= kReluPoolPlane.
bool fuses_relu_pool(const Shape& x);

}  // namespace plangrad
