// For users who want xtensor's expressions on plangrad's tensors: the one public header of
// plangrad that includes xtensor (the others stay light; core/tensor_storage.hpp). Include
// it only where the expressions are wanted, and link xtensor yourself.
//
//   Tensor<float>& w = model.parameter("fc.weight");
//   as_xtensor(w) *= 0.5f;                                // in place, no copy
//   model.parameter("fc.bias") = to_tensor(xt::zeros<float>({10}));
#pragma once

#include <cstddef>
#include <type_traits>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "core/tensor_storage.hpp"

namespace plangrad {

namespace detail {
inline std::vector<std::size_t> xtensor_shape(const Shape& shape) { return {shape.begin(), shape.end()}; }
}  // namespace detail

// The tensor's memory as a row-major xtensor container of its shape; no copy. Valid while
// the tensor lives and is not reassigned; writing through it writes the tensor.
template <class T>
auto as_xtensor(Tensor<T>& t) {
  return xt::adapt(t.data(), t.size(), xt::no_ownership(), detail::xtensor_shape(t.shape()));
}
template <class T>
auto as_xtensor(const Tensor<T>& t) {
  return xt::adapt(t.data(), t.size(), xt::no_ownership(), detail::xtensor_shape(t.shape()));
}

// Any xtensor expression evaluated into a new Tensor of its shape, in row-major order.
template <class E>
Tensor<std::decay_t<typename E::value_type>> to_tensor(const xt::xexpression<E>& expression) {
  using T = std::decay_t<typename E::value_type>;
  const xt::xarray<T, xt::layout_type::row_major> values = expression.derived_cast();
  return Tensor<T>(Shape(values.shape().begin(), values.shape().end()), values.data(), values.size());
}

}  // namespace plangrad
