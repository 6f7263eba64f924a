// Element-wise activations: relu, sigmoid, tanh.
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& relu_op();
const OpDef& sigmoid_op();
const OpDef& tanh_op();

}  // namespace plangrad
