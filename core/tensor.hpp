/// \file
/// Tensor basics shared by every layer: shapes, spans and non-owning tensor views.
/// Kept free of xtensor so that every header that needs a shape stays cheap to include.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace plangrad {

/// One dimension of a shape; kBatchDim (negative) marks a symbolic batch.
using Dim = std::int64_t;
/// Dimensions, outermost first (row-major); {} is a scalar.
using Shape = std::vector<Dim>;

/// The placeholder for a symbolic batch dimension in a declared input shape.
inline constexpr Dim kBatchDim = -1;

/// A ShapeError: `shape` has a negative dimension or more elements than a size_t counts.
[[noreturn]] void throw_bad_numel(const Shape& shape);

/// Number of elements of a shape; the scalar shape {} has one element. Checked, so that no
/// shape read from a file can wrap the count: a negative (symbolic) dimension or an
/// overflow is a ShapeError.
inline std::size_t numel(const Shape& shape) {
  std::size_t n = 1;
  for (Dim d : shape)
    if (d < 0 || __builtin_mul_overflow(n, static_cast<std::size_t>(d), &n)) throw_bad_numel(shape);
  return n;
}

/// "[100, 2]"; a symbolic batch dimension prints as "N".
std::string shape_str(const Shape& shape);

/// A pointer and a length: what a kernel sees of an array it does not own.
template <class T>
struct Span {
  T* ptr = nullptr;   ///< the first element
  std::size_t len = 0;  ///< the number of elements

  T& operator[](std::size_t i) const { return ptr[i]; }  ///< element i, unchecked
  std::size_t size() const { return len; }               ///< len
  T* begin() const { return ptr; }                       ///< for range-for
  T* end() const { return ptr + len; }                   ///< for range-for
};

/// A Span over a vector's elements, valid while the vector is not resized.
template <class T>
Span<T> make_span(std::vector<T>& v) { return {v.data(), v.size()}; }
/// \copydoc make_span(std::vector<T>&)
template <class T>
Span<const T> make_span(const std::vector<T>& v) { return {v.data(), v.size()}; }

/// A non-owning, contiguous, row-major view: a pointer into the arena (or into a model's
/// parameter storage) and a shape. Views are made once, when an executor is built; kernels
/// receive them by reference, so a training step copies no shapes.
template <class T>
struct TensorRef {
  T* data = nullptr;  ///< the first value; nullptr: no tensor
  Shape shape;        ///< its dimensions

  std::size_t size() const { return numel(shape); }             ///< numel(shape)
  int rank() const { return static_cast<int>(shape.size()); }  ///< the number of dimensions
  /// dim(-1) is the last dimension.
  Dim dim(int i) const { return shape[static_cast<std::size_t>(i < 0 ? rank() + i : i)]; }
  T& operator[](std::size_t i) const { return data[i]; }  ///< value i in row-major order, unchecked
  T* begin() const { return data; }                       ///< for range-for
  T* end() const { return data + size(); }                ///< for range-for
  explicit operator bool() const { return data != nullptr; }  ///< whether it views a tensor
};

}  // namespace plangrad
