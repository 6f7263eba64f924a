#include "core/checked.hpp"

#include <string>

#include "core/errors.hpp"

namespace plangrad {

Dim mul_dims(Dim a, Dim b) {
  Dim r;
  if (__builtin_mul_overflow(a, b, &r))
    throw ShapeError("size arithmetic overflows: " + std::to_string(a) + " * " + std::to_string(b));
  return r;
}
Dim add_dims(Dim a, Dim b) {
  Dim r;
  if (__builtin_add_overflow(a, b, &r))
    throw ShapeError("size arithmetic overflows: " + std::to_string(a) + " + " + std::to_string(b));
  return r;
}
std::size_t mul_sizes(std::size_t a, std::size_t b) {
  std::size_t r;
  if (__builtin_mul_overflow(a, b, &r))
    throw ShapeError("size arithmetic overflows: " + std::to_string(a) + " * " + std::to_string(b));
  return r;
}
std::size_t add_sizes(std::size_t a, std::size_t b) {
  std::size_t r;
  if (__builtin_add_overflow(a, b, &r))
    throw ShapeError("size arithmetic overflows: " + std::to_string(a) + " + " + std::to_string(b));
  return r;
}

}  // namespace plangrad
