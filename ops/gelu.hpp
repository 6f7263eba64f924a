// gelu, tanh approximation: y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), PyTorch's
// F.gelu(x, approximate='tanh').
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& gelu_op();

}  // namespace plangrad
