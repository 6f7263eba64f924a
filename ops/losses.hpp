// Losses, each reducing to a scalar (shape []) by the mean:
//   mse_loss(pred, target)                          mean over all elements
//   softmax_cross_entropy(logits[N,C], labels[N])   class indices, mean over the batch
//   binary_cross_entropy_with_logits(logits, targets)  mean over all elements
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& mse_loss_op();
const OpDef& softmax_cross_entropy_op();
const OpDef& binary_cross_entropy_with_logits_op();

}  // namespace plangrad
