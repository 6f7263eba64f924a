/// \file
/// Executor: runs a Plan on a model. It allocates the plan's arena once, makes every view
/// and every kernel's argument block once, and then runs steps with no heap allocation:
/// forward, the backward steps in reverse order, and the optimizer's updates.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/visibility.hpp"
#include "engine/optimizer.hpp"
#include "ops/op.hpp"
#include "planner/plan.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

/// Where a training plan's gradients go before their updates, when they must be combined
/// with other processes' first (data-parallel training, engine/gradient_sync.hpp). With a
/// sink, each Update step hands its complete gradient to gradient_ready (k counts the
/// plan's update steps, 0 .. K-1, in plan order) instead of updating, and after the last
/// step the executor makes the K updates in the same order from reduced(k).
template <class T>
class UpdateSink {
 public:
  virtual ~UpdateSink() = default;
  /// The k-th update's gradient is complete; it lives until the next step of the plan.
  virtual void gradient_ready(std::size_t k, const TensorRef<const T>& grad) = 0;
  /// The gradient the k-th update uses (called for k = 0 .. K-1 after every step ran, and
  /// again for each k when clipping by norm). Its data is the sink's own and writable: the
  /// executor clips it in place (Optimizer::clipping) before the update.
  virtual const TensorRef<const T>& reduced(std::size_t k) = 0;
};

/// Runs a Plan on a model in scalar type T (see the file's description).
template <class T>
class Executor {
 public:
  /// The model (and optimizer, for training plans) must outlive the executor; parameters
  /// and state are used in place, never copied.
  Executor(BasicModel<T>& model, Plan plan, Optimizer<T>* optimizer = nullptr);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  /// A writable view of an input's buffer in the arena; write it before run(). A
  /// GraphError when the plan has no input `name`.
  TensorRef<T> input(const std::string& name);
  /// Copies n values into an input; a DataError when n does not match its size (a
  /// GraphError, as input()'s, for no such input).
  void set_input(const std::string& name, const T* data, std::size_t n);

  /// One pass over the plan: forward (+ backward + update). A UsageError for a training
  /// plan without an optimizer.
  void run();

  /// Values the plan keeps (requested outputs, the loss) and, in gradient plans, the
  /// gradients of parameters and requested inputs. A GraphError names a value the plan
  /// does not keep.
  TensorRef<const T> value(const std::string& name) const;
  /// \copydoc value
  TensorRef<const T> grad(const std::string& name) const;
  /// The loss after a run; a GraphError when the plan has none.
  T loss() const;

  /// The random stream the next run() draws from (the dropout op): its seed and step
  /// counter. A run in a Train-mode plan advances the step by one when it ends; fit sets
  /// both before each step instead (its seed, its step count), so that its plans share
  /// one sequence and a resumed run continues it.
  StepRandom& random() { return random_; }

  const Plan& plan() const { return plan_; }                ///< the plan it runs
  BasicModel<T>& model() { return model_; }                 ///< the model it runs on
  Optimizer<T>* optimizer() const { return optimizer_; }    ///< nullptr: none
  /// Another optimizer (or nullptr) for the updates from the next run(); it must be bound
  /// to this model (a GraphError for a parameter it has no state for).
  void set_optimizer(Optimizer<T>* optimizer);
  /// Sends the gradients through `sink` before their updates (nullptr: update in place,
  /// the default); it must outlive the executor's runs.
  void set_update_sink(UpdateSink<T>* sink) { sink_ = sink; }
  /// The value the loss's gradient is seeded with (1 by default). Every gradient is linear
  /// in it: a rank holding b of a global batch of B seeds b / B, so that the ranks'
  /// gradients sum to the gradient of the global batch's mean loss.
  void set_loss_seed(T seed);

 private:
  struct Bound;
  BasicModel<T>& model_;
  Plan plan_;
  Optimizer<T>* optimizer_;
  StepRandom random_;
  UpdateSink<T>* sink_ = nullptr;
  std::unique_ptr<Bound> bound_;
};

}  // namespace plangrad
PLANGRAD_PUBLIC_END
