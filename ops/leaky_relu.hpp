// leaky_relu: y = x where x > 0, alpha x elsewhere (PyTorch's F.leaky_relu, alpha 0.01 by
// default).
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& leaky_relu_op();

}  // namespace plangrad
