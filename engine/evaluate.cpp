#include "engine/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/errors.hpp"
#include "engine/communicator.hpp"
#include "engine/batch_runner.hpp"
#include "engine/eval_roles.hpp"

namespace plangrad {
namespace {

std::size_t argmax(const float* p, std::size_t k) {
  std::size_t best = 0;
  for (std::size_t j = 1; j < k; ++j)
    if (p[j] > p[best]) best = j;
  return best;
}

std::string number(double v) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

std::size_t predicted_class(const float* logits, std::size_t columns) {
  return columns == 1 ? (logits[0] > 0.0f ? 1 : 0) : argmax(logits, columns);
}

std::size_t true_class(const float* target, std::size_t target_len, std::size_t columns, std::size_t row) {
  if (target_len > 1) return argmax(target, target_len);
  const float t = target[0];
  if (columns == 1) return t > 0.5f ? 1 : 0;
  if (!(t >= 0.0f && t < static_cast<float>(columns)) || t != std::floor(t))
    throw DataError("label " + std::to_string(static_cast<double>(t)) + " at row " + std::to_string(row) +
                    " is not a class index in [0, " + std::to_string(columns) + ")");
  return static_cast<std::size_t>(t);
}

std::size_t count_correct(const float* logits, std::size_t columns, const float* targets, std::size_t target_len,
                          std::size_t rows, std::size_t first_row) {
  std::size_t correct = 0;
  for (std::size_t i = 0; i < rows; ++i)
    correct += predicted_class(logits + i * columns, columns) ==
               true_class(targets + i * target_len, target_len, columns, first_row + i);
  return correct;
}

void check_data(const DataView& data, std::size_t x_len, std::size_t y_len, std::size_t classes, bool finite,
                const std::string& who) {
  const auto fail = [&](std::size_t example, const std::string& what) {
    throw DataError(who + ": example " + std::to_string(example) + (data.source.empty() ? "" : " of " + data.source) +
                    ": " + what);
  };
  if (classes > 0 && y_len == 1) {
    const auto c = static_cast<float>(classes);
    for (std::size_t i = 0; i < data.n; ++i) {
      const float t = data.targets[i];
      if (!(t >= 0.0f && t < c) || t != std::floor(t))
        fail(i, "label " + number(t) + " is not a class index in [0, " + std::to_string(classes) + ")");
    }
  }
  if (!finite) return;
  for (std::size_t i = 0; i < data.n; ++i) {
    for (std::size_t j = 0; j < x_len; ++j)
      if (!std::isfinite(data.features[i * x_len + j]))
        fail(i, "feature " + std::to_string(j) + " is " + number(data.features[i * x_len + j]));
    for (std::size_t j = 0; j < y_len; ++j)
      if (!std::isfinite(data.targets[i * y_len + j]))
        fail(i, "target " + std::to_string(j) + " is " + number(data.targets[i * y_len + j]));
  }
}

std::size_t row_length(const Graph& graph, const std::string& name, const char* role, const char* who) {
  const std::string prefix = std::string(who) + ": the " + role;
  if (name.empty()) throw UsageError(prefix + " value must be named");
  const ValueDecl* v = graph.find_value(name);
  if (!v || v->kind != ValueKind::Input) throw UsageError(prefix + " '" + name + "' is not an input of the graph");
  if (v->shape.empty() || v->shape[0] != kBatchDim)
    throw UsageError(prefix + " input '" + name + "' is " + shape_str(v->shape) +
                     "; its first dimension must be the symbolic batch N");
  return numel(Shape(v->shape.begin() + 1, v->shape.end()));
}

Evaluator::Evaluator(Model& model, const ValueRoles& roles, std::size_t n, std::size_t batch)
    : roles_(roles), n_(n), batch_(std::min(batch, n)) {
  if (n == 0) throw UsageError("evaluate: no examples");
  if (batch == 0) throw UsageError("evaluate: the batch size must be positive");
  if (roles.logits.empty() && roles.loss.empty() && roles.prediction.empty())
    throw UsageError("evaluate: nothing to measure: name the logits, the loss or the prediction");
  full_ = std::make_unique<BatchRunner>(model, roles, PlanKind::Inference, batch_, nullptr, "evaluate");
  if (n_ % batch_)
    rest_ = std::make_unique<BatchRunner>(model, roles, PlanKind::Inference, n_ % batch_, nullptr, "evaluate");
  if (full_->columns == 1) {
    scores_.resize(n_);
    truths_.resize(n_);
    order_.resize(n_);
  }
  if (full_->prediction) regression_ = RegressionMetrics(full_->prediction_columns);
  loss_terms_.resize((n_ + batch_ - 1) / batch_);
}

Evaluator::~Evaluator() = default;

std::size_t Evaluator::columns() const { return full_->columns; }
std::size_t Evaluator::prediction_columns() const { return full_->prediction_columns; }
const Plan& Evaluator::plan() const { return full_->exec->plan(); }
const Plan* Evaluator::remainder_plan() const { return rest_ ? &rest_->exec->plan() : nullptr; }

void Evaluator::check(const DataView& data, const std::string& who) const {
  if (data.n != n_)
    throw UsageError("evaluate: the evaluator was made for " + std::to_string(n_) + " examples, the data has " +
                     std::to_string(data.n));
  if (!data.features || !data.targets) throw UsageError("evaluate: data without features or targets");
  check_data(data, full_->x_len, full_->y_len, full_->label_classes, false, who);
}

EvalResult Evaluator::run(const DataView& data) { return run(data, nullptr); }

EvalResult Evaluator::run(const DataView& data, Communicator* comm) {
  check(data);
  EvalResult result;
  result.count = n_;
  const bool split = comm && comm->size() > 1;
  const bool binary = full_->columns == 1, regression = full_->prediction != nullptr;
  const std::size_t batches = loss_terms_.size(), k = full_->prediction_columns;
  std::size_t b0 = 0, b1 = batches;
  if (split) {
    const auto R = static_cast<std::size_t>(comm->size()), r = static_cast<std::size_t>(comm->rank());
    b0 = batches * r / R;
    b1 = batches * (r + 1) / R;
    if (binary) {
      std::fill(scores_.begin(), scores_.end(), 0.0f);
      std::fill(truths_.begin(), truths_.end(), 0);
    }
    if (regression) gathered_.assign(n_ * k, 0.0f);
  }
  std::fill(loss_terms_.begin(), loss_terms_.end(), 0.0);
  if (regression && !split) regression_.begin(data.targets, n_);
  for (std::size_t b = b0; b < b1; ++b) {
    const std::size_t first = b * batch_, rows = std::min(batch_, n_ - first);
    BatchRunner& r = rows == batch_ ? *full_ : *rest_;
    const float* targets = data.targets + first * r.y_len;
    std::copy_n(data.features + first * r.x_len, rows * r.x_len, r.x);
    if (r.y) std::copy_n(targets, rows * r.y_len, r.y);
    r.run();
    if (r.loss_value) loss_terms_[b] = static_cast<double>(*r.loss_value) * static_cast<double>(rows);
    if (r.logits) result.correct += count_correct(r.logits, r.columns, targets, r.y_len, rows, first);
    if (binary)
      for (std::size_t i = 0; i < rows; ++i) {
        scores_[first + i] = r.logits[i];
        truths_[first + i] = static_cast<unsigned char>(true_class(targets + i, 1, 1, first + i));
      }
    if (regression) {
      if (split)
        std::copy_n(r.prediction, rows * k, gathered_.data() + first * k);
      else
        regression_.add(r.prediction, targets, rows);
    }
  }
  if (split) {
    // Each value below is held by one rank and is zero on the others, so the sums are
    // exact and every rank ends with the whole set's values.
    comm->sum(loss_terms_.data(), batches);
    double correct = static_cast<double>(result.correct);  // exact below 2^53
    comm->sum(&correct, 1);
    result.correct = static_cast<std::size_t>(correct);
    if (regression) {
      comm->sum(gathered_.data(), n_ * k);
      regression_.begin(data.targets, n_);
      regression_.add(gathered_.data(), data.targets, n_);
    }
    if (binary) {  // after the regression rows: gathered_ is reused
      comm->sum(scores_.data(), n_);
      gathered_.assign(truths_.begin(), truths_.end());
      comm->sum(gathered_.data(), n_);
      for (std::size_t i = 0; i < n_; ++i) truths_[i] = gathered_[i] > 0.5f ? 1 : 0;
    }
  }
  double loss_sum = 0.0;
  for (const double term : loss_terms_) loss_sum += term;
  BinaryCounts counts;
  if (binary)
    for (std::size_t i = 0; i < n_; ++i) counts.add(predicted_class(&scores_[i], 1), truths_[i]);
  const double n = static_cast<double>(n_);
  if (!roles_.loss.empty()) result.loss = loss_sum / n;
  if (!roles_.logits.empty()) result.accuracy = static_cast<double>(result.correct) / n;
  if (binary) {
    result.precision = counts.precision();
    result.recall = counts.recall();
    result.auc = roc_auc(scores_.data(), truths_.data(), n_, order_.data());
  }
  if (regression) {
    result.rmse = regression_.rmse();
    result.mae = regression_.mae();
    result.r2 = regression_.r2();
  }
  return result;
}

EvalResult evaluate(const Model& model, const ValueRoles& roles, const DataView& data, std::size_t batch) {
  // An Eval-mode inference plan has no update steps and batchnorm reads its running
  // statistics without writing them, so the executor never writes through this reference.
  Evaluator evaluator(const_cast<Model&>(model), roles, data.n, batch);
  return evaluator.run(data);
}

EvalResult evaluate(const Model& model, const float* images, const float* labels, std::size_t n,
                    std::size_t batch) {
  return evaluate(model, eval_roles(model.graph), DataView{images, labels, n}, batch);
}

}  // namespace plangrad
