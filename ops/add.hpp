// Additions: add_bias (a bias vector along the last dimension) and add (two tensors of
// one shape, e.g. a residual connection).
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& add_bias_op();
const OpDef& add_op();

}  // namespace plangrad
