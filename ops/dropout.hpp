// dropout: in Train mode, each element of x is zeroed with probability `rate` and the rest
// are scaled by 1 / (1 - rate) (inverted dropout, as PyTorch's F.dropout); in Eval mode,
// y = x. The mask comes from the step's counter-based random stream (OpArgs::random_key),
// so the backward recomputes it rather than keeping it.
#pragma once

#include <cstdint>

#include "ops/op.hpp"

namespace plangrad {

const OpDef& dropout_op();

// Whether dropout at `rate` keeps element `index` of the stream `key`: the top 24 bits of
// counter_bits(key, index) at or above rate * 2^24 (rounded to nearest). Integer
// arithmetic, so float and double plans drop the same elements.
bool dropout_keeps(double rate, std::uint64_t key, std::uint64_t index);

}  // namespace plangrad
