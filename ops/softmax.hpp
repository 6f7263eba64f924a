// softmax along the last axis: each row of the last dimension's length becomes
// probabilities (PyTorch's torch.softmax(x, -1)). For graphs that want probabilities as an
// output; a loss takes the logits (softmax_cross_entropy), not these.
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& softmax_op();

}  // namespace plangrad
