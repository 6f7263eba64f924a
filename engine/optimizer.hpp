// Optimizers update a parameter in place from its gradient. An optimizer is bound to a
// model: its state (momentum, Adam's moments) is kept per parameter name, allocated once,
// so a training step allocates nothing.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "engine/model.hpp"
#include "engine/tensor.hpp"

namespace plangrad {

template <class T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // The index of a parameter's state, resolved once by the executor.
  virtual std::size_t slot(const std::string& parameter) const = 0;
  // Called once per training step, before the updates of that step.
  virtual void begin_step() {}
  virtual void update(std::size_t slot, const TensorRef<T>& param, const TensorRef<const T>& grad) = 0;

  double learning_rate() const { return lr_; }
  void set_learning_rate(double lr) { lr_ = lr; }

 protected:
  explicit Optimizer(double lr) : lr_(lr) {}
  double lr_;
};

struct SgdOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double weight_decay = 0.0;  // L2, added to the gradient (PyTorch's SGD convention)
};

// PyTorch's SGD: g' = g + wd * w;  v = momentum * v + g' (v = g' on the first step);
// w -= lr * v.  Without momentum: w -= lr * g'.
template <class T>
class SGD final : public Optimizer<T> {
 public:
  SGD(const BasicModel<T>& model, SgdOptions options);
  std::size_t slot(const std::string& parameter) const override;
  void update(std::size_t slot, const TensorRef<T>& param, const TensorRef<const T>& grad) override;

  const SgdOptions& options() const { return options_; }
  const std::vector<std::vector<T>>& velocity() const { return velocity_; }

 private:
  SgdOptions options_;
  std::map<std::string, std::size_t> slots_;
  std::vector<std::vector<T>> velocity_;
  std::vector<char> started_;
};

}  // namespace plangrad
