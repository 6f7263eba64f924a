// The task a model is trained for, read from its loss, and the graph values that play each
// part -- what `plangrad train|eval|predict --data FILE.csv` and the examples bind a
// table's columns to:
//   softmax_cross_entropy(logits [N, C], labels [N])     classification, C >= 2 classes:
//                                                        the target is class indices
//   binary_cross_entropy_with_logits(logit [N, 1], y [N, 1])
//                                                        binary: one logit, the target the
//                                                        0/1 label (class 1 positive)
//   mse_loss(prediction [N, K], y [N, K])                regression: K target values
//   mse_loss(p [N, K], standardize(y))                   regression on standardized
//                                                        targets; the prediction is
//                                                        standardize(p, inverse=1), same
//                                                        mean and std, in y's units
// The loss is the graph's first scalar output (or, when it declares none, its one loss
// node) and must be computed by one of these ops; its second input is the target, which
// must be a graph input, and the features are the graph's one other input, [N, F] or an
// image [N, C, H, W] (F = C*H*W values per example). Anything else is a UsageError naming
// what the graph has.
#pragma once

#include <cstddef>
#include <string>

#include "core/graph.hpp"
#include "engine/evaluate.hpp"

namespace plangrad {

enum class Task { Classification, Binary, Regression };
// "classification", "binary", "regression"
const char* task_name(Task task);

struct TaskRoles : ValueRoles {
  Task task = Task::Classification;
  std::string loss_op;             // the loss node's op
  Shape input_shape;               // the features input as declared, kBatchDim first
  std::size_t features = 0;        // values per example of the input
  std::size_t target_columns = 0;  // values per target row: 1 (class indices, one 0/1 label) or K
  std::size_t columns = 0;         // the logits' columns (C, or 1), or the prediction's (K)
  std::size_t classes = 0;         // classification: C; binary: 2; regression: 0
  // The standardize nodes (with mean and std as state) that `plangrad train --standardize`
  // fits: the one reading the features input, the one the loss reads the target through;
  // empty when there is none.
  std::string input_standardize, target_standardize;
};

TaskRoles task_roles(const Graph& graph);

}  // namespace plangrad
