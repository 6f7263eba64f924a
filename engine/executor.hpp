// Executor: runs a Plan on a model. It allocates the plan's arena once, makes every view
// and every kernel's argument block once, and then runs steps with no heap allocation:
// forward, the backward steps in reverse order, and the optimizer's updates.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "engine/optimizer.hpp"
#include "ops/op.hpp"
#include "planner/plan.hpp"

namespace plangrad {

template <class T>
class Executor {
 public:
  // The model (and optimizer, for training plans) must outlive the executor; parameters
  // and state are used in place, never copied.
  Executor(BasicModel<T>& model, Plan plan, Optimizer<T>* optimizer = nullptr);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // A writable view of an input's buffer in the arena; write it before run().
  TensorRef<T> input(const std::string& name);
  // Copies n values into an input; a DataError when n does not match its size.
  void set_input(const std::string& name, const T* data, std::size_t n);

  // One pass over the plan: forward (+ backward + update).
  void run();

  // Values the plan keeps (requested outputs, the loss) and, in gradient plans, the
  // gradients of parameters and requested inputs. A GraphError names a value the plan
  // does not keep.
  TensorRef<const T> value(const std::string& name) const;
  TensorRef<const T> grad(const std::string& name) const;
  T loss() const;

  const Plan& plan() const { return plan_; }
  BasicModel<T>& model() { return model_; }
  Optimizer<T>* optimizer() const { return optimizer_; }
  void set_optimizer(Optimizer<T>* optimizer);

 private:
  struct Bound;
  BasicModel<T>& model_;
  Plan plan_;
  Optimizer<T>* optimizer_;
  std::unique_ptr<Bound> bound_;
};

}  // namespace plangrad
