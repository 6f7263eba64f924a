#include "core/tensor_storage.hpp"

#include <string>

#include "core/errors.hpp"

namespace plangrad {

void throw_tensor_data_size(const Shape& shape, std::size_t values) {
  throw ShapeError("a tensor of shape " + shape_str(shape) + " holds " + std::to_string(numel(shape)) +
                   " values, got " + std::to_string(values));
}

void throw_tensor_rank(const Shape& shape, std::size_t indices) {
  throw ShapeError("a tensor of shape " + shape_str(shape) + " takes " + std::to_string(shape.size()) +
                   " indices, got " + std::to_string(indices));
}

void throw_tensor_index(const Shape& shape, std::size_t dim, std::size_t index) {
  throw ShapeError("index " + std::to_string(index) + " of dimension " + std::to_string(dim) +
                   " is out of range for a tensor of shape " + shape_str(shape));
}

}  // namespace plangrad
