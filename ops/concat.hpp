// concat: x_0, x_1, ... joined along `axis` (torch.cat(xs, dim=axis)); any number of inputs
// (one or more), of one rank and equal sizes but along the axis.
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& concat_op();

}  // namespace plangrad
