#include "engine/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace plangrad {

void BinaryCounts::add(std::size_t predicted, std::size_t truth) {
  if (predicted) ++(truth ? true_positives : false_positives);
  else ++(truth ? false_negatives : true_negatives);
}

double BinaryCounts::precision() const {
  const std::size_t p = true_positives + false_positives;
  return p ? static_cast<double>(true_positives) / static_cast<double>(p) : 0.0;
}

double BinaryCounts::recall() const {
  const std::size_t p = true_positives + false_negatives;
  return p ? static_cast<double>(true_positives) / static_cast<double>(p) : 0.0;
}

double roc_auc(const float* scores, const unsigned char* truths, std::size_t n, std::size_t* order) {
  std::size_t positives = 0;
  for (std::size_t i = 0; i < n; ++i) positives += truths[i] ? 1 : 0;
  const std::size_t negatives = n - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  // NaN (a diverged model) ranks lowest, the NaNs tied: std::sort needs a strict weak
  // order, which `<` alone is not once a NaN is among the scores.
  std::sort(order, order + n, [&](std::size_t a, std::size_t b) {
    const bool nan_a = std::isnan(scores[a]), nan_b = std::isnan(scores[b]);
    return nan_a != nan_b ? nan_a : scores[a] < scores[b];
  });
  // The positives' ranks (from 1), a run of equal scores (or of NaNs) sharing its mean rank.
  double rank_sum = 0;
  for (std::size_t first = 0; first < n;) {
    std::size_t last = first + 1;
    const float v = scores[order[first]];
    while (last < n && (scores[order[last]] == v || (std::isnan(v) && std::isnan(scores[order[last]])))) ++last;
    const double mean_rank = (static_cast<double>(first + 1) + static_cast<double>(last)) / 2.0;
    for (std::size_t k = first; k < last; ++k)
      if (truths[order[k]]) rank_sum += mean_rank;
    first = last;
  }
  const double p = static_cast<double>(positives), q = static_cast<double>(negatives);
  return (rank_sum - p * (p + 1.0) / 2.0) / (p * q);
}

RegressionMetrics::RegressionMetrics(std::size_t columns) : mean_(columns), sst_(columns), sse_(columns) {}

void RegressionMetrics::begin(const float* targets, std::size_t rows) {
  const std::size_t k = columns();
  std::fill(mean_.begin(), mean_.end(), 0.0);
  std::fill(sst_.begin(), sst_.end(), 0.0);
  std::fill(sse_.begin(), sse_.end(), 0.0);
  abs_sum_ = 0;
  values_ = 0;
  if (rows == 0) return;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < k; ++c) mean_[c] += static_cast<double>(targets[r * k + c]);
  for (double& m : mean_) m /= static_cast<double>(rows);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < k; ++c) {
      const double d = static_cast<double>(targets[r * k + c]) - mean_[c];
      sst_[c] += d * d;
    }
}

void RegressionMetrics::add(const float* predictions, const float* targets, std::size_t rows) {
  const std::size_t k = columns();
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < k; ++c) {
      const double e = static_cast<double>(predictions[r * k + c]) - static_cast<double>(targets[r * k + c]);
      sse_[c] += e * e;
      abs_sum_ += std::abs(e);
    }
  values_ += rows * k;
}

double RegressionMetrics::rmse() const {
  if (values_ == 0) return std::numeric_limits<double>::quiet_NaN();
  double sse = 0;
  for (double s : sse_) sse += s;
  return std::sqrt(sse / static_cast<double>(values_));
}

double RegressionMetrics::mae() const {
  return values_ ? abs_sum_ / static_cast<double>(values_) : std::numeric_limits<double>::quiet_NaN();
}

double RegressionMetrics::r2() const {
  if (values_ == 0 || columns() == 0) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  for (std::size_t c = 0; c < columns(); ++c)
    sum += sst_[c] > 0 ? 1.0 - sse_[c] / sst_[c] : (sse_[c] == 0 ? 1.0 : 0.0);
  return sum / static_cast<double>(columns());
}

}  // namespace plangrad
