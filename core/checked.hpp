// Checked arithmetic for element counts, byte sizes and offsets. Shapes come from files
// that anyone may write: a product or sum that does not fit its type must be an error,
// never a wrapped number that then sizes a buffer too small for what is written into it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/errors.hpp"
#include "core/tensor.hpp"

namespace plangrad {

// a * b and a + b of dimensions (shape rules): a ShapeError naming both operands when the
// result does not fit a Dim.
Dim mul_dims(Dim a, Dim b);
Dim add_dims(Dim a, Dim b);

// The same for byte sizes, element counts and offsets in memory.
std::size_t mul_sizes(std::size_t a, std::size_t b);
std::size_t add_sizes(std::size_t a, std::size_t b);

}  // namespace plangrad
