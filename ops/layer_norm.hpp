// Layer normalization over the last axis with a learnable gain and bias (PyTorch's
// nn.LayerNorm(D) on x [..., D]):
//   layer_norm(x[..., D], gamma[D], beta[D]) -> y[..., D]
// Attribute: eps (default 1e-5, as PyTorch).
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& layer_norm_op();

}  // namespace plangrad
