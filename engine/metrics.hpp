// The figures an evaluation reports beyond accuracy and loss, each defined once, as
// scikit-learn defines it, and computed by the Evaluator (engine/evaluate.hpp) for
// `plangrad eval`, fit's validation and the examples alike:
//   binary classifiers (one logit): precision, recall (class 1 positive) and ROC AUC
//   regression ([N, K] predictions of [N, K] targets): RMSE, MAE and R², in the target's
//   units
#pragma once

#include <cstddef>
#include <vector>

#include "core/visibility.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

// Counts of a binary classifier's predictions against 0/1 truths.
struct BinaryCounts {
  std::size_t true_positives = 0, false_positives = 0, false_negatives = 0, true_negatives = 0;

  void add(std::size_t predicted, std::size_t truth);
  // tp / (tp + fp), and 0 when nothing is predicted positive (sklearn's precision_score
  // with zero_division=0, its default's value).
  double precision() const;
  // tp / (tp + fn), and 0 when no example is positive.
  double recall() const;
};

// The area under the ROC curve of `scores` (any monotone score: logits or probabilities)
// for 0/1 `truths` (1: positive), n of each: the probability that a random positive scores
// above a random negative, ties counting one half (the Mann-Whitney statistic, which is
// sklearn's roc_auc_score). NaN when the truths hold one class only. `order` is scratch
// space for n indices, so that the call allocates nothing.
double roc_auc(const float* scores, const unsigned char* truths, std::size_t n, std::size_t* order);

// RMSE, MAE and R² of predictions against targets, rows of `columns` values, accumulated
// batch by batch. R² needs each column's mean first: begin() takes the whole target set.
//   RMSE = sqrt(mean of (prediction - target)^2 over every value)
//   MAE  = mean of |prediction - target| over every value
//   R²   = the mean over columns of 1 - SSE_c / SST_c (sklearn's r2_score, uniform
//          average); a column whose targets are all equal scores 1 when it is predicted
//          exactly and 0 otherwise (sklearn's force_finite)
// Sums are in double. Construction allocates; begin(), add() and the figures do not.
class RegressionMetrics {
 public:
  explicit RegressionMetrics(std::size_t columns = 0);
  void begin(const float* targets, std::size_t rows);
  void add(const float* predictions, const float* targets, std::size_t rows);
  double rmse() const;
  double mae() const;
  double r2() const;
  std::size_t columns() const { return mean_.size(); }

 private:
  std::vector<double> mean_, sst_, sse_;
  double abs_sum_ = 0;
  std::size_t values_ = 0;
};

}  // namespace plangrad
PLANGRAD_PUBLIC_END
