// One executor at one batch size, with the buffers of the role values (engine/evaluate.hpp:
// ValueRoles) looked up once -- a TensorRef copy copies its shape, a heap allocation, and
// a training step or an evaluation batch must make none. fit's training steps and the
// Evaluator's batches both run through it.
#pragma once

#include <cstddef>
#include <memory>

#include "engine/evaluate.hpp"
#include "engine/executor.hpp"

namespace plangrad {

struct BatchRunner {
  // kind Training: optimizer steps on roles.loss, which must be named. kind Inference:
  // Eval mode, computing roles.loss, roles.logits and roles.prediction (whichever are
  // named); the target is fed only when there is a loss to compute. UsageErrors start with `who`, name the role
  // and say what it must be.
  BatchRunner(Model& model, const ValueRoles& roles, PlanKind kind, std::size_t batch, Optimizer<float>* optimizer,
              const char* who);

  std::unique_ptr<Executor<float>> exec;
  std::size_t x_len = 0, y_len = 0;  // floats per row of the input and of the target
  float* x = nullptr;                // the input's buffer
  float* y = nullptr;                // the target's buffer; nullptr when the plan does not read it
  const float* logits = nullptr;     // nullptr without logits
  std::size_t columns = 0;           // the logits' columns
  const float* loss_value = nullptr;  // inference plans: the kept loss; nullptr without a loss
  const float* prediction = nullptr;  // inference plans: roles.prediction; nullptr without one
  std::size_t prediction_columns = 0;
  // When the target rows are class indices (one value each): the classes they must lie in,
  // the fewest of the logits' columns (two or more) and the logits' columns of every
  // softmax_cross_entropy in the plan that takes the target as its labels; 0 otherwise.
  std::size_t label_classes = 0;

  void run() { exec->run(); }
  // The batch's loss after run(): the training plan's, or the kept value in an inference plan.
  float loss() const { return loss_value ? *loss_value : exec->loss(); }
};

}  // namespace plangrad
