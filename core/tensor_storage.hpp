/// \file
/// Tensor<T>: plangrad's owning tensor, what a Model keeps its parameters and state in and
/// what the data sets hand out. A shape and its numel(shape) values, contiguous and
/// row-major, 64-byte aligned; copies are deep, and a moved-from tensor may only be
/// assigned to or destroyed. Deliberately small: no arithmetic, no views, no
/// broadcasting; a kernel sees it through ref() (core/tensor.hpp's TensorRef), a user who
/// wants expressions through core/xtensor_interop.hpp. Including this costs only standard
/// headers, so the public headers that hold tensors stay cheap to compile.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <new>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace plangrad {

/// The allocator of Tensor's values: each block starts on a cache line (the alignment the
/// widest SIMD loads prefer).
template <class T>
struct AlignedAllocator {
  using value_type = T;                          ///< the allocated type
  static constexpr std::size_t kAlignment = 64;  ///< bytes: every block's address is a multiple

  AlignedAllocator() = default;  ///< stateless
  /// Stateless, so any two are interchangeable.
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}

  /// n values' memory, aligned to kAlignment; std::bad_alloc when there is none.
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kAlignment}));
  }
  /// Frees what allocate returned.
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{kAlignment}); }

  /// Always equal: any one frees what another allocated.
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
  /// Never unequal.
  template <class U>
  bool operator!=(const AlignedAllocator<U>&) const { return false; }
};

/// ShapeErrors of Tensor (core/tensor_storage.cpp), out of line to keep the header light:
/// `values` values given for `shape`.
[[noreturn]] void throw_tensor_data_size(const Shape& shape, std::size_t values);
/// Tensor's ShapeError for `indices` indices into a tensor of another rank.
[[noreturn]] void throw_tensor_rank(const Shape& shape, std::size_t indices);
/// Tensor's ShapeError for an index past dimension `dim`'s size.
[[noreturn]] void throw_tensor_index(const Shape& shape, std::size_t dim, std::size_t index);

/// plangrad's owning tensor (see the file's description): a shape and its values.
template <class T>
class Tensor {
 public:
  using value_type = T;  ///< the scalar type

  /// Shape {0}: no values.
  Tensor() : shape_{0} {}
  /// numel(shape) copies of `fill`. A negative (symbolic) dimension or a count that
  /// overflows is a ShapeError (numel).
  explicit Tensor(Shape shape, T fill = T()) : shape_(std::move(shape)), values_(numel(shape_), fill) {}
  /// The values in row-major order; a ShapeError unless there are numel(shape) of them.
  Tensor(Shape shape, const std::vector<T>& values) : shape_(std::move(shape)) {
    assign(values.data(), values.size());
  }
  /// \copydoc Tensor(Shape, const std::vector<T>&)
  Tensor(Shape shape, std::initializer_list<T> values) : shape_(std::move(shape)) {
    assign(values.begin(), values.size());
  }
  /// From n values at `data`: a ShapeError unless n == numel(shape).
  Tensor(Shape shape, const T* data, std::size_t n) : shape_(std::move(shape)) { assign(data, n); }

  const Shape& shape() const { return shape_; }                  ///< its dimensions
  int rank() const { return static_cast<int>(shape_.size()); }  ///< the number of dimensions
  /// dim(-1) is the last dimension.
  Dim dim(int i) const { return shape_[static_cast<std::size_t>(i < 0 ? rank() + i : i)]; }
  std::size_t size() const { return values_.size(); }  ///< numel(shape()): the number of values
  bool empty() const { return values_.empty(); }       ///< no values

  T* data() { return values_.data(); }                                ///< the first value
  const T* data() const { return values_.data(); }                    ///< the first value
  T& operator[](std::size_t i) { return values_[i]; }                 ///< value i, row-major, unchecked
  const T& operator[](std::size_t i) const { return values_[i]; }     ///< value i, row-major, unchecked
  T* begin() { return values_.data(); }                               ///< for range-for
  T* end() { return values_.data() + values_.size(); }                ///< for range-for
  const T* begin() const { return values_.data(); }                   ///< for range-for
  const T* end() const { return values_.data() + values_.size(); }    ///< for range-for

  /// t(i, j, ...): one index per dimension, each checked (a ShapeError); for tests and
  /// set-up code, not for loops that matter.
  template <class... I>
  T& operator()(I... index) { return values_[offset({static_cast<std::size_t>(index)...})]; }
  /// t(i, j, ...) of a const tensor, checked as above.
  template <class... I>
  const T& operator()(I... index) const { return values_[offset({static_cast<std::size_t>(index)...})]; }

  /// The view a kernel or an executor uses: the same memory, valid while this tensor lives
  /// and is not reassigned.
  TensorRef<T> ref() { return {values_.data(), shape_}; }
  /// \copydoc ref()
  TensorRef<const T> ref() const { return {values_.data(), shape_}; }

  /// Same shape and the same values (by ==, so a NaN is never equal).
  bool operator==(const Tensor& o) const { return shape_ == o.shape_ && values_ == o.values_; }
  /// Another shape or another value (a NaN anywhere makes two tensors unequal).
  bool operator!=(const Tensor& o) const { return !(*this == o); }

 private:
  void assign(const T* data, std::size_t n) {
    if (n != numel(shape_)) throw_tensor_data_size(shape_, n);
    values_.assign(data, data + n);
  }

  std::size_t offset(std::initializer_list<std::size_t> index) const {
    if (index.size() != shape_.size()) throw_tensor_rank(shape_, index.size());
    std::size_t at = 0, k = 0;
    for (std::size_t i : index) {
      if (i >= static_cast<std::size_t>(shape_[k])) throw_tensor_index(shape_, k, i);
      at = at * static_cast<std::size_t>(shape_[k++]) + i;
    }
    return at;
  }

  Shape shape_;
  std::vector<T, AlignedAllocator<T>> values_;
};

}  // namespace plangrad
