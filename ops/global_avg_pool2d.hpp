// Global average pooling, NCHW: each (image, channel) plane becomes its mean,
//   global_avg_pool2d(x[N,C,H,W]) -> y[N,C]
// (PyTorch's x.mean((2, 3)), or AdaptiveAvgPool2d(1) followed by a flatten).
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& global_avg_pool2d_op();

}  // namespace plangrad
