// Input standardization inside the graph, so that a saved model carries its own
// preprocessing (as torchvision's transforms.Normalize does outside the model):
//   normalize(x) -> y = (x - mean) / std   attributes mean (Float, default 0) and
//                                          std (Float, default 1, positive and finite)
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& normalize_op();

}  // namespace plangrad
