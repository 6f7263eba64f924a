// log_softmax along the last axis: each row of the last dimension's length becomes log
// probabilities (PyTorch's torch.log_softmax(x, -1)), computed without forming the
// probabilities, so it stays finite where log(softmax(x)) would be log 0.
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& log_softmax_op();

}  // namespace plangrad
