/// \file
/// evaluate: the one definition of a prediction and the one evaluation loop. Every accuracy,
/// evaluation loss and metric (engine/metrics.hpp: precision, recall, ROC AUC; RMSE, MAE,
/// R²) plangrad reports comes from here: fit's training and validation figures
/// (engine/fit.hpp), `plangrad eval` and `plangrad train`, and the examples.
/// \code
///   Evaluator eval(model, {"x", "labels", "loss", "logits"}, test_n, 1000);  // plans made here
///   EvalResult r = eval.run({test_x, test_labels, test_n});                 // no allocation
///   EvalResult once = evaluate(model, roles, {test_x, test_labels, test_n}, 1000);
/// \endcode
/// Model files that follow the value conventions of `plangrad eval` can be evaluated without
/// naming their values: engine/eval_roles.hpp.
#pragma once

#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/model.hpp"
#include "core/visibility.hpp"
#include "engine/metrics.hpp"
#include "planner/plan.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

/// Which graph values play which part, in evaluation and in training (fit). Every named
/// input's first dimension must be the symbolic batch (kBatchDim); a row is the product of
/// the other dimensions.
struct ValueRoles {
  std::string input;   ///< the features, e.g. "x" [N, d] or "images" [N, C, H, W]
  /// The truth: class indices [N] (as floats); or rows [N, k]: one-hot rows (k = C, the
  /// logits' columns) or, for one logit, the 0/1 label itself (k = 1); or, when there are no
  /// logits, any target rows the loss takes (regression).
  std::string target;
  std::string loss;    ///< a scalar, the mean over the batch. Evaluation: empty = no loss figure
  std::string logits;  ///< [N, C] with C >= 2, or [N, 1] (one logit); empty: no accuracy
  /// Regression: [N, K] values compared with the target rows [N, K] (RMSE, MAE, R²);
  /// empty: none. May name the logits too (one-hot targets scored both ways).
  std::string prediction = {};
};

/// A data set as the caller holds it: n rows of features and n rows of targets, each row
/// as long as the graph's input says. Only viewed; it must outlive the call that reads it.
/// `source` says where the data came from (a file), for the errors that name an example.
struct DataView {
  const float* features = nullptr;  ///< n rows of the input's length
  const float* targets = nullptr;   ///< n rows of the target's length
  std::size_t n = 0;   ///< 0: no data
  std::string source;  ///< empty: not from a file

  DataView() = default;  ///< no data
  /// The members, in order.
  DataView(const float* features_, const float* targets_, std::size_t n_, std::string source_ = {})
      : features(features_), targets(targets_), n(n_), source(std::move(source_)) {}
};

/// The prediction, as PyTorch code computes it:
/// - C >= 2 logits: the class of the largest, the first on ties -- torch.argmax(logits, 1);
/// - one logit (C = 1, binary cross-entropy): class 1 when the logit is positive --
///   (logits > 0), the same as torch.sigmoid(logits) > 0.5. A logit of exactly 0 is
///   class 0 (torcheval's BinaryAccuracy, which thresholds probabilities with >= 0.5,
///   would say 1: the two agree everywhere else).
std::size_t predicted_class(const float* logits, std::size_t columns);

/// The true class of one target row of `target_len` values, for `columns` logits:
/// - target_len > 1: a one-hot row, its argmax (the first, on ties);
/// - one logit: a 0/1 label, class 1 when it is above 0.5;
/// - else a class index, an integer in [0, columns) -- a DataError (naming `row`) otherwise.
std::size_t true_class(const float* target, std::size_t target_len, std::size_t columns, std::size_t row);

/// How many of `rows` rows of logits [rows, columns] predict their target row's class.
/// first_row numbers the rows in a DataError.
std::size_t count_correct(const float* logits, std::size_t columns, const float* targets, std::size_t target_len,
                          std::size_t rows, std::size_t first_row = 0);

/// Checks a data set once, when it is bound to a model, so that bad data is reported by the
/// example's index in the set (and data.source), never by its row in a shuffled batch and
/// never from inside a step: `classes` > 0 (the targets are class indices, rows of one value,
/// BatchRunner::label_classes): every target is an integer in [0, classes); `finite`: every
/// feature and target is a finite number. A DataError starting with `who` otherwise.
void check_data(const DataView& data, std::size_t x_len, std::size_t y_len, std::size_t classes, bool finite,
                const std::string& who);

/// The number of classes `columns` logits tell apart: columns, or 2 for one logit.
inline std::size_t classes_of(std::size_t columns) { return columns == 1 ? 2 : columns; }

/// The floats per example of the graph input `name` (the dimensions after the batch). A
/// UsageError, starting with `who` and naming the role, when it is empty, not an input, or
/// its first dimension is not the symbolic batch.
std::size_t row_length(const Graph& graph, const std::string& name, const char* role, const char* who);

/// What an evaluation measured.
struct EvalResult {
  static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();  ///< not measured
  double accuracy = kNone;  ///< correct / count; NaN without logits
  double loss = kNone;      ///< the mean of the per-example losses (batches weighted by size); NaN without a loss
  std::size_t count = 0;    ///< the examples evaluated
  std::size_t correct = 0;  ///< rows whose predicted_class is their true_class
  // One logit (a binary classifier, class 1 positive; engine/metrics.hpp); NaN otherwise.
  double precision = kNone;  ///< one logit: tp / (tp + fp)
  double recall = kNone;     ///< one logit: tp / (tp + fn)
  double auc = kNone;        ///< one logit: ROC AUC; NaN also when the set holds one class only
  // With a prediction role (regression), in the target's units; NaN otherwise.
  double rmse = kNone;  ///< regression: root mean squared error
  double mae = kNone;   ///< regression: mean absolute error
  double r2 = kNone;    ///< regression: R², the mean over target columns
};

struct BatchRunner;
class Communicator;

/// The evaluation loop over a data set of n rows: Eval-mode inference plans (batchnorm uses
/// its running statistics and does not update them), one at `batch` rows (n when smaller)
/// and one for a last, shorter batch, all made in the constructor; run() allocates nothing.
/// The model must outlive the Evaluator; an Eval-mode inference plan never writes it.
class Evaluator {
 public:
  /// UsageError for n == 0, batch == 0, a role that does not fit the graph, or neither
  /// logits nor a loss to measure.
  Evaluator(Model& model, const ValueRoles& roles, std::size_t n, std::size_t batch);
  ~Evaluator();
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  /// data.n must be the n the Evaluator was made for (a UsageError otherwise). A target that
  /// is not a class of the logits (or of a softmax_cross_entropy that reads it) is a
  /// DataError naming the example and data.source, before any batch runs.
  EvalResult run(const DataView& data);
  /// The same figures, the same bits, computed by the ranks of `comm` together (every rank
  /// calls it with the whole set; nullptr or one rank: run(data)). The set's batches are
  /// numbered 0 .. B-1 (B = ceil(n / batch)) and rank r of R evaluates the contiguous batches
  /// [r B / R, (r + 1) B / R), so every batch is one process's batch, rows and plan alike.
  /// Then: the per-batch loss terms (loss x rows, in double) are summed across ranks (each
  /// held by one rank, zero elsewhere: exact) and added in batch order as one process adds
  /// them; the correct counts are summed; one logit's scores and truths, and a prediction's
  /// rows, are gathered to every rank the same way (zero elsewhere), and precision, recall,
  /// ROC AUC, RMSE, MAE and R² are computed from the whole set as one process computes them.
  /// Every rank gets the same result. These sums may allocate (MPI's side; the regression
  /// rows are allocated at the first call).
  EvalResult run(const DataView& data, Communicator* comm);
  /// What run() checks before its first batch, alone (fit checks its validation set once,
  /// before the first training step); a data error starts with `who`.
  void check(const DataView& data, const std::string& who = "evaluate") const;

  std::size_t batch() const { return batch_; }  ///< the full batches' rows
  std::size_t columns() const;  ///< the logits' columns; 0 without logits
  std::size_t prediction_columns() const;  ///< the prediction's columns; 0 without one
  const Plan& plan() const;                ///< the full batches'
  const Plan* remainder_plan() const;      ///< the last, shorter batch's; nullptr when batch divides n

 private:
  ValueRoles roles_;
  std::size_t n_, batch_;
  std::unique_ptr<BatchRunner> full_, rest_;
  // Made once, for run() to allocate nothing: one logit's scores, truths and sort order
  // (ROC AUC), and the regression sums.
  std::vector<float> scores_;
  std::vector<unsigned char> truths_;
  std::vector<std::size_t> order_;
  RegressionMetrics regression_;
  std::vector<double> loss_terms_;  // per batch: its loss x rows, added in batch order
  std::vector<float> gathered_;     // distributed: truths or prediction rows being summed
};

/// One pass: an Evaluator made and run once. The model is only read.
EvalResult evaluate(const Model& model, const ValueRoles& roles, const DataView& data, std::size_t batch);

/// A model file that follows `plangrad eval`'s conventions (engine/eval_roles.hpp: eval_roles),
/// on n examples: images n * features floats, labels n class indices as floats.
EvalResult evaluate(const Model& model, const float* images, const float* labels, std::size_t n,
                    std::size_t batch);

}  // namespace plangrad
PLANGRAD_PUBLIC_END
