/// \file
/// Optimizers update a parameter in place from its gradient. An optimizer is bound to a
/// model: its state (momentum, Adam's moments) is kept per parameter name, allocated once,
/// so a training step allocates nothing.
///
/// Every optimizer follows torch.optim's arithmetic (same formulas, same order of
/// operations, per-step scalars computed in double and rounded to T once), so a run can be
/// checked against PyTorch's to rounding. Its state can be taken out as a plain snapshot
/// (OptimizerState) and put back into a fresh optimizer, which then continues bit-identically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/model.hpp"
#include "core/tensor.hpp"
#include "core/visibility.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

/// SGD's options: plain SGD unless momentum, weight decay or Nesterov is set.
struct SgdOptions {
  double lr = 0.01;           ///< learning rate
  double momentum = 0.0;      ///< 0: none
  double weight_decay = 0.0;  ///< L2, added to the gradient (PyTorch's SGD convention)
  bool nesterov = false;      ///< needs momentum > 0

  /// Every field equal.
  bool operator==(const SgdOptions& o) const {
    return lr == o.lr && momentum == o.momentum && weight_decay == o.weight_decay && nesterov == o.nesterov;
  }
  /// Some field differs.
  bool operator!=(const SgdOptions& o) const { return !(*this == o); }
};

/// Adam's options, PyTorch's defaults.
struct AdamOptions {
  double lr = 1e-3;       ///< learning rate
  double beta1 = 0.9;     ///< decay of the first moment (torch: betas[0])
  double beta2 = 0.999;   ///< decay of the second moment (torch: betas[1])
  double eps = 1e-8;      ///< added to the second moment's root
  double weight_decay = 0.0;  ///< Adam: L2 added to the gradient; AdamW: decoupled

  /// Every field equal.
  bool operator==(const AdamOptions& o) const {
    return lr == o.lr && beta1 == o.beta1 && beta2 == o.beta2 && eps == o.eps && weight_decay == o.weight_decay;
  }
  /// Some field differs.
  bool operator!=(const AdamOptions& o) const { return !(*this == o); }
};

/// AdamW's options: the same fields, with PyTorch's AdamW default weight decay.
struct AdamWOptions {
  double lr = 1e-3;            ///< learning rate
  double beta1 = 0.9;          ///< decay of the first moment
  double beta2 = 0.999;        ///< decay of the second moment
  double eps = 1e-8;           ///< added to the second moment's root
  double weight_decay = 1e-2;  ///< decoupled: the weight decays before the update

  /// Every field equal.
  bool operator==(const AdamWOptions& o) const {
    return lr == o.lr && beta1 == o.beta1 && beta2 == o.beta2 && eps == o.eps && weight_decay == o.weight_decay;
  }
  /// Some field differs.
  bool operator!=(const AdamWOptions& o) const { return !(*this == o); }
};

/// One optimizer's options; which alternative it holds is the optimizer's kind.
using OptimizerOptions = std::variant<SgdOptions, AdamOptions, AdamWOptions>;

/// "sgd", "adam", "adamw": Optimizer::kind() of the optimizer these options make.
const char* optimizer_kind(const OptimizerOptions& options);
/// What is wrong with the options, naming the option ("beta1 must be in [0, 1), got 1.5");
/// empty when they are valid: lr > 0, momentum, weight_decay >= 0, nesterov only with
/// momentum; betas in [0, 1), eps > 0.
std::string options_problem(const OptimizerOptions& options);
/// The buffers each parameter's state holds under these options, by PyTorch's names:
/// "momentum_buffer" for SGD with momentum (none without), "exp_avg" and "exp_avg_sq" for
/// Adam and AdamW.
std::vector<std::string> state_buffers(const OptimizerOptions& options);

/// One parameter's slice of an optimizer's state.
struct ParameterState {
  /// SGD with momentum: the momentum buffer holds a value (PyTorch: the buffer is not None).
  /// The first step sets the buffer to the gradient instead of decaying it. Always false
  /// under options without a momentum buffer.
  bool started = false;
  /// The buffers state_buffers(options) names; each holds one value per element of the
  /// parameter. Values of T are stored as double, which holds every float and double exactly.
  std::map<std::string, std::vector<double>> buffers;

  /// The same flag and the same buffers.
  bool operator==(const ParameterState& o) const { return started == o.started && buffers == o.buffers; }
  /// Another flag or another buffer.
  bool operator!=(const ParameterState& o) const { return !(*this == o); }
};

/// Everything an optimizer knows, as plain values: enough to rebuild it (make_optimizer)
/// and to continue a run exactly. A checkpoint writes it (serialization/optimizer_state.hpp).
struct OptimizerState {
  /// The kind and its options; their lr is the learning rate at the snapshot, which a
  /// schedule may have changed from the constructor's.
  OptimizerOptions options;
  std::int64_t step = 0;  ///< training steps begun (Adam's t)
  std::map<std::string, ParameterState> parameters;  ///< by parameter name

  /// "sgd", "adam", "adamw": optimizer_kind(options).
  const char* kind() const { return optimizer_kind(options); }
  /// The same options, step and parameters' states.
  bool operator==(const OptimizerState& o) const {
    return options == o.options && step == o.step && parameters == o.parameters;
  }
  /// Some option, the step or a parameter's state differs.
  bool operator!=(const OptimizerState& o) const { return !(*this == o); }
};

/// Gradient clipping, applied in each training step to the gradients just before the
/// updates (engine/executor.hpp), in torch.nn.utils' arithmetic: first every element
/// clamped to [-value, value] (clip_grad_value_), then, when the global L2 norm over every
/// parameter's gradient (summed in double) exceeds `norm`, every gradient scaled by
/// norm / (total + 1e-6) (clip_grad_norm_). 0 turns either off. Clipping by norm needs a
/// plan with PlanRequest::updates_last (fit asks for one).
struct GradientClipping {
  double norm = 0;   ///< the largest global gradient norm; 0: off
  double value = 0;  ///< the largest absolute gradient element; 0: off

  /// Both fields equal.
  bool operator==(const GradientClipping& o) const { return norm == o.norm && value == o.value; }
  /// A field differs.
  bool operator!=(const GradientClipping& o) const { return !(*this == o); }
};

/// A UsageError naming the bound ("clip norm must be finite and >= 0, got -1") when one is
/// negative or not finite.
void check_clipping(const GradientClipping& clipping);

/// An optimizer bound to one model's parameters, in scalar type T (see the file's
/// description). The executor calls begin_step and update; a caller sets the learning rate.
template <class T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// "sgd", "adam", "adamw": the name OptimizerState::kind carries.
  virtual const char* kind() const = 0;
  /// The index of a parameter's state, resolved once by the executor. GraphError when the
  /// optimizer has no state for that name.
  virtual std::size_t slot(const std::string& parameter) const = 0;
  /// Called once per training step, before the updates of that step.
  virtual void begin_step() { ++step_; }
  /// Updates the parameter of `slot` in place from its gradient, allocating nothing.
  virtual void update(std::size_t slot, const TensorRef<T>& param, const TensorRef<const T>& grad) = 0;

  /// A snapshot of the options (with the current learning rate), step count and buffers.
  virtual OptimizerState state() const = 0;
  /// Puts a snapshot back: options, learning rate, step count and buffers, as torch's
  /// load_state_dict does. The snapshot must be of this kind, with valid options, and hold
  /// exactly this model's parameters, each with the buffers its options keep
  /// (state_buffers), of the parameter's size: otherwise a DataError names the first
  /// mismatch and the optimizer is unchanged.
  virtual void set_state(const OptimizerState& state) = 0;

  /// The current learning rate: the constructor's, unless set since.
  double learning_rate() const { return lr_; }
  /// The learning rate of the updates from now on (a schedule's, say).
  void set_learning_rate(double lr) { lr_ = lr; }
  /// Training steps begun so far (begin_step calls).
  std::int64_t step_count() const { return step_; }
  /// The clipping the executor applies before this optimizer's updates. A UsageError for
  /// a bound that is negative or not finite.
  void set_clipping(const GradientClipping& clipping) {
    check_clipping(clipping);
    clipping_ = clipping;
  }
  /// The clipping set (none by default).
  const GradientClipping& clipping() const { return clipping_; }

  /// Frozen parameters: their state is released and left out of state() and set_state(),
  /// and plans made for this optimizer by fit (engine/batch_runner) give them no gradient
  /// and no update (PlanRequest::frozen). A GraphError for a name the optimizer has no
  /// state for; freezing a frozen parameter again does nothing.
  void freeze(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
      bool already = false;
      for (const std::string& f : frozen_) already = already || f == name;
      if (already) continue;
      drop_state(name);
      frozen_.push_back(name);
    }
  }
  /// The frozen parameters, in the order they were frozen.
  const std::vector<std::string>& frozen() const { return frozen_; }

 protected:
  /// For the optimizers: `lr` is the initial learning rate.
  explicit Optimizer(double lr) : lr_(lr) {}
  double lr_;               ///< the current learning rate
  std::int64_t step_ = 0;   ///< begin_step calls so far
  GradientClipping clipping_;  ///< see set_clipping
  std::vector<std::string> frozen_;  ///< see freeze
  /// Releases a parameter's state and forgets its slot (freeze); a GraphError for a name
  /// without state.
  virtual void drop_state(const std::string& parameter) = 0;
};

/// PyTorch's SGD (dampening 0): g' = g + wd * w;  v = momentum * v + g' (v = g' on the
/// first step);  step = nesterov ? g' + momentum * v : v;  w -= lr * step.
/// Without momentum: w -= lr * g'.
template <class T>
class SGD final : public Optimizer<T> {
 public:
  /// UsageError naming the option when lr <= 0, momentum or weight_decay < 0, or nesterov
  /// without momentum.
  SGD(const BasicModel<T>& model, SgdOptions options);
  const char* kind() const override { return "sgd"; }
  std::size_t slot(const std::string& parameter) const override;
  void update(std::size_t slot, const TensorRef<T>& param, const TensorRef<const T>& grad) override;
  OptimizerState state() const override;
  void set_state(const OptimizerState& state) override;

  /// lr here is the constructor's; learning_rate() is the current one.
  const SgdOptions& options() const { return options_; }
  /// The momentum buffers, by slot (each empty without momentum).
  const std::vector<std::vector<T>>& velocity() const { return velocity_; }

 protected:
  void drop_state(const std::string& parameter) override;

 private:
  SgdOptions options_;
  std::map<std::string, std::size_t> slots_;
  std::vector<std::size_t> sizes_;  // elements of each slot's parameter
  std::vector<std::vector<T>> velocity_;
  std::vector<char> started_;
};

/// PyTorch's Adam (amsgrad off), t = step_count() >= 1:
/// \code
///   g' = g + wd * w
///   m = beta1 * m + (1 - beta1) * g';   v = beta2 * v + (1 - beta2) * g'^2
///   w -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// \endcode
/// AdamW instead decays the weight before that update, w *= 1 - lr * wd (torch's form of
/// w -= lr * wd * w), and uses g' = g.
template <class T>
class Adam : public Optimizer<T> {
 public:
  /// UsageError naming the option when lr <= 0, a beta outside [0, 1), eps <= 0 or
  /// weight_decay < 0.
  Adam(const BasicModel<T>& model, AdamOptions options);
  const char* kind() const override { return decoupled_ ? "adamw" : "adam"; }
  std::size_t slot(const std::string& parameter) const override;
  /// Counts the step and computes its bias corrections 1 - beta^t (in double, as torch).
  void begin_step() override;
  /// UsageError if no step has begun (the bias corrections would divide by zero).
  void update(std::size_t slot, const TensorRef<T>& param, const TensorRef<const T>& grad) override;
  OptimizerState state() const override;
  void set_state(const OptimizerState& state) override;

  /// lr here is the constructor's; learning_rate() is the current one.
  const AdamOptions& options() const { return options_; }
  /// The first moments m, by slot.
  const std::vector<std::vector<T>>& exp_avg() const { return exp_avg_; }
  /// The second moments v, by slot.
  const std::vector<std::vector<T>>& exp_avg_sq() const { return exp_avg_sq_; }

 protected:
  /// AdamW's constructor: `decoupled` weight decay.
  Adam(const BasicModel<T>& model, AdamOptions options, bool decoupled);
  void drop_state(const std::string& parameter) override;

 private:
  AdamOptions options_;
  bool decoupled_;
  std::map<std::string, std::size_t> slots_;
  std::vector<std::vector<T>> exp_avg_, exp_avg_sq_;
  // 1 - beta^t for the current step, computed once in begin_step (in double, as torch).
  double bias_correction1_ = 0, bias_correction2_ = 0;
};

/// PyTorch's AdamW: Adam with decoupled weight decay (see Adam).
template <class T>
class AdamW final : public Adam<T> {
 public:
  /// UsageError naming the option, as Adam's constructor.
  AdamW(const BasicModel<T>& model, AdamWOptions options);
};

/// A fresh optimizer of the state's kind over the model, with `frozen` frozen and the
/// state put back (set_state): a checkpoint restores its optimizer with this. DataError for
/// a state that does not fit.
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const BasicModel<T>& model, const OptimizerState& state,
                                             const std::vector<std::string>& frozen = {});

}  // namespace plangrad
PLANGRAD_PUBLIC_END
