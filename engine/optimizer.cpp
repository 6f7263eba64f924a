#include "engine/optimizer.hpp"

#include "engine/errors.hpp"

namespace plangrad {

template <class T>
SGD<T>::SGD(const BasicModel<T>& model, SgdOptions options) : Optimizer<T>(options.lr), options_(options) {
  if (!(options.lr > 0) || options.momentum < 0 || options.weight_decay < 0)
    throw UsageError("SGD: lr must be positive, momentum and weight decay non-negative");
  for (const auto& [name, p] : model.parameters) {
    slots_.emplace(name, velocity_.size());
    velocity_.emplace_back(options.momentum > 0 ? p.size() : 0, T(0));
  }
  started_.assign(velocity_.size(), 0);
}

template <class T>
std::size_t SGD<T>::slot(const std::string& parameter) const {
  auto it = slots_.find(parameter);
  if (it == slots_.end()) throw GraphError("SGD: no state for parameter '" + parameter + "'");
  return it->second;
}

template <class T>
void SGD<T>::update(std::size_t slot, const TensorRef<T>& param, const TensorRef<const T>& grad) {
  const T lr = static_cast<T>(this->lr_), wd = static_cast<T>(options_.weight_decay),
          mu = static_cast<T>(options_.momentum);
  T* w = param.data;
  const T* g = grad.data;
  const std::size_t n = param.size();
  if (options_.momentum == 0) {
    for (std::size_t i = 0; i < n; ++i) w[i] -= lr * (g[i] + wd * w[i]);
    return;
  }
  T* v = velocity_[slot].data();
  if (!started_[slot]) {
    for (std::size_t i = 0; i < n; ++i) v[i] = g[i] + wd * w[i];
    started_[slot] = 1;
  } else {
    for (std::size_t i = 0; i < n; ++i) v[i] = mu * v[i] + (g[i] + wd * w[i]);
  }
  for (std::size_t i = 0; i < n; ++i) w[i] -= lr * v[i];
}

template class SGD<float>;
template class SGD<double>;

}  // namespace plangrad
