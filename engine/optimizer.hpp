// Optimizers update a parameter in place from its gradient. An optimizer is bound to a
// model: its state (momentum, Adam's moments) is kept per parameter name, allocated once,
// so a training step allocates nothing.
//
// Every optimizer follows torch.optim's arithmetic (same formulas, same order of
// operations, per-step scalars computed in double and rounded to T once), so a run can be
// checked against PyTorch's to rounding. Its state can be taken out as a plain snapshot
// (OptimizerState) and put back into a fresh optimizer, which then continues bit-identically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/tensor.hpp"

namespace plangrad {

// One parameter's slice of an optimizer's state.
struct ParameterState {
  // SGD with momentum: the momentum buffer holds a value (PyTorch: the buffer is not None).
  // The first step sets the buffer to the gradient instead of decaying it.
  bool started = false;
  // Buffers by PyTorch's names: "momentum_buffer" (SGD), "exp_avg" and "exp_avg_sq"
  // (Adam, AdamW); each holds one value per element of the parameter. Values of T are
  // stored as double, which holds every float and double exactly.
  std::map<std::string, std::vector<double>> buffers;

  bool operator==(const ParameterState& o) const { return started == o.started && buffers == o.buffers; }
  bool operator!=(const ParameterState& o) const { return !(*this == o); }
};

// Everything an optimizer knows, as plain values: enough to rebuild it (make_optimizer)
// and to continue a run exactly. A checkpoint writes this as it is.
struct OptimizerState {
  std::string kind;                  // Optimizer::kind(): "sgd", "adam", "adamw"
  std::int64_t step = 0;             // training steps begun (Adam's t)
  double learning_rate = 0;          // the current one: a schedule may have changed it
  std::map<std::string, double> options;  // the other options by field name; bools as 0/1
  std::map<std::string, ParameterState> parameters;  // by parameter name

  bool operator==(const OptimizerState& o) const {
    return kind == o.kind && step == o.step && learning_rate == o.learning_rate && options == o.options &&
           parameters == o.parameters;
  }
  bool operator!=(const OptimizerState& o) const { return !(*this == o); }
};

template <class T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // "sgd", "adam", "adamw": the name OptimizerState::kind carries.
  virtual const char* kind() const = 0;
  // The index of a parameter's state, resolved once by the executor. GraphError when the
  // optimizer has no state for that name.
  virtual std::size_t slot(const std::string& parameter) const = 0;
  // Called once per training step, before the updates of that step.
  virtual void begin_step() { ++step_; }
  virtual void update(std::size_t slot, const TensorRef<T>& param, const TensorRef<const T>& grad) = 0;

  // A snapshot of the options, step count and per-parameter buffers.
  virtual OptimizerState state() const = 0;
  // Puts a snapshot back: options (validated), learning rate, step count and buffers, as
  // torch's load_state_dict does. DataError naming the mismatch when the kind, a parameter
  // name, a buffer or a size does not fit this optimizer's model, or an option is invalid;
  // the optimizer is unchanged then.
  virtual void set_state(const OptimizerState& state) = 0;

  double learning_rate() const { return lr_; }
  void set_learning_rate(double lr) { lr_ = lr; }
  // Training steps begun so far (begin_step calls).
  std::int64_t step_count() const { return step_; }

 protected:
  explicit Optimizer(double lr) : lr_(lr) {}
  double lr_;
  std::int64_t step_ = 0;
};

struct SgdOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double weight_decay = 0.0;  // L2, added to the gradient (PyTorch's SGD convention)
  bool nesterov = false;      // needs momentum > 0
};

// PyTorch's SGD (dampening 0): g' = g + wd * w;  v = momentum * v + g' (v = g' on the
// first step);  step = nesterov ? g' + momentum * v : v;  w -= lr * step.
// Without momentum: w -= lr * g'.
template <class T>
class SGD final : public Optimizer<T> {
 public:
  // UsageError naming the option when lr <= 0, momentum or weight_decay < 0, or nesterov
  // without momentum.
  SGD(const BasicModel<T>& model, SgdOptions options);
  const char* kind() const override { return "sgd"; }
  std::size_t slot(const std::string& parameter) const override;
  void update(std::size_t slot, const TensorRef<T>& param, const TensorRef<const T>& grad) override;
  OptimizerState state() const override;
  void set_state(const OptimizerState& state) override;

  // lr here is the constructor's; learning_rate() is the current one.
  const SgdOptions& options() const { return options_; }
  const std::vector<std::vector<T>>& velocity() const { return velocity_; }

 private:
  SgdOptions options_;
  std::map<std::string, std::size_t> slots_;
  std::vector<std::size_t> sizes_;  // elements of each slot's parameter
  std::vector<std::vector<T>> velocity_;
  std::vector<char> started_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: L2 added to the gradient; AdamW: decoupled
};

// AdamW's options: the same fields, with PyTorch's AdamW default weight decay.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

// PyTorch's Adam (amsgrad off), t = step_count() >= 1:
//   g' = g + wd * w
//   m = beta1 * m + (1 - beta1) * g';   v = beta2 * v + (1 - beta2) * g'^2
//   w -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// AdamW instead decays the weight before that update, w *= 1 - lr * wd (torch's form of
// w -= lr * wd * w), and uses g' = g.
template <class T>
class Adam : public Optimizer<T> {
 public:
  // UsageError naming the option when lr <= 0, a beta outside [0, 1), eps <= 0 or
  // weight_decay < 0.
  Adam(const BasicModel<T>& model, AdamOptions options);
  const char* kind() const override { return decoupled_ ? "adamw" : "adam"; }
  std::size_t slot(const std::string& parameter) const override;
  void begin_step() override;
  // UsageError if no step has begun (the bias corrections would divide by zero).
  void update(std::size_t slot, const TensorRef<T>& param, const TensorRef<const T>& grad) override;
  OptimizerState state() const override;
  void set_state(const OptimizerState& state) override;

  // lr here is the constructor's; learning_rate() is the current one.
  const AdamOptions& options() const { return options_; }
  const std::vector<std::vector<T>>& exp_avg() const { return exp_avg_; }
  const std::vector<std::vector<T>>& exp_avg_sq() const { return exp_avg_sq_; }

 protected:
  Adam(const BasicModel<T>& model, AdamOptions options, bool decoupled);

 private:
  AdamOptions options_;
  bool decoupled_;
  std::map<std::string, std::size_t> slots_;
  std::vector<std::vector<T>> exp_avg_, exp_avg_sq_;
  // 1 - beta^t for the current step, computed once in begin_step (in double, as torch).
  double bias_correction1_ = 0, bias_correction2_ = 0;
};

template <class T>
class AdamW final : public Adam<T> {
 public:
  AdamW(const BasicModel<T>& model, AdamWOptions options);
};

// A fresh optimizer of state.kind over the model, with state put back (set_state):
// a checkpoint restores its optimizer with this. DataError for an unknown kind or a state
// that does not fit.
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const BasicModel<T>& model, const OptimizerState& state);

}  // namespace plangrad
