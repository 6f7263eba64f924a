// Bit-for-bit equality, the measure of every determinism test ("same seed, same bits").
// Unlike ==, it tells 0.0 from -0.0 and finds a NaN equal to the same NaN, so a result
// that merely compares equal does not pass for a reproduced one.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <map>
#include <string>
#include <type_traits>
#include <vector>
#include <xtensor/xarray.hpp>

#include "core/tensor.hpp"
#include "core/tensor_storage.hpp"

namespace plangrad::testing {

// n elements at a and at b.
template <class T>
bool same_bits(const T* a, const T* b, std::size_t n) {
  static_assert(std::is_trivially_copyable_v<T>, "same_bits compares object representations");
  return n == 0 || std::memcmp(a, b, n * sizeof(T)) == 0;  // memcmp wants non-null pointers
}

template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
bool same_bits(T a, T b) {
  return same_bits(&a, &b, 1);
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && same_bits(a.data(), b.data(), a.size());
}

// Tensors, arrays and tensor views must also have the same shape.
template <class T>
bool same_bits(const Tensor<T>& a, const Tensor<T>& b) {
  return a.shape() == b.shape() && same_bits(a.data(), b.data(), a.size());
}

template <class T>
bool same_bits(const xt::xarray<T>& a, const xt::xarray<T>& b) {
  return a.shape() == b.shape() && same_bits(a.data(), b.data(), a.size());
}

template <class T>
bool same_bits(const TensorRef<const T>& a, const TensorRef<const T>& b) {
  return a.shape == b.shape && same_bits(a.data, b.data, a.size());
}

// Named tensors (a model's parameters or state): the same names, each with the same bits.
template <class T>
bool same_bits(const std::map<std::string, Tensor<T>>& a, const std::map<std::string, Tensor<T>>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.first == y.first && same_bits(x.second, y.second);
  });
}

}  // namespace plangrad::testing
