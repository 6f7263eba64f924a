// Views of the same row-major data under another shape; both may run in place.
//   flatten(x[N, d1, ..., dk]) -> y[N, d1*...*dk]
//   reshape(x) -> y[shape]  attribute shape (Ints): one entry may be -1, inferred from the
//                            element count. With a symbolic batch (x is [N, ...]) the batch
//                            must be kept: shape is [-1, ...] with the rest's product equal.
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& flatten_op();
const OpDef& reshape_op();

}  // namespace plangrad
