/// \file
/// A Model is a graph plus the data it owns: trainable parameters and persistent state
/// (batchnorm running statistics). Executors view this storage; they never copy it, so
/// a model trained by one executor is seen at once by another (an inference plan, say).
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "core/graph.hpp"
#include "core/tensor_storage.hpp"

namespace plangrad {

/// A graph and its parameters and state, in scalar type T (Model: float).
template <class T>
struct BasicModel {
  Graph graph;                                  ///< the network
  std::map<std::string, Tensor<T>> parameters;  ///< trainable values, by the graph's value names
  std::map<std::string, Tensor<T>> state;       ///< persistent values (batchnorm running statistics)

  /// A GraphError naming the parameter (or state) when it is not there.
  Tensor<T>& parameter(const std::string& name);
  /// \copydoc parameter(const std::string&)
  const Tensor<T>& parameter(const std::string& name) const;
  /// \copydoc parameter(const std::string&)
  Tensor<T>& state_tensor(const std::string& name);

  std::size_t parameter_count() const;  ///< trainable scalars

  /// Every parameter and state declaration has data of its declared shape, and no data
  /// lacks a declaration. Throws ShapeError / GraphError naming the first mismatch.
  void check() const;

  /// The same model in another scalar type (double for gradient checks).
  template <class U>
  BasicModel<U> cast() const;
};

/// The model in float, what training, evaluation, prediction and model files use.
using Model = BasicModel<float>;

}  // namespace plangrad
