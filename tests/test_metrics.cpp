// The metrics beyond accuracy (engine/metrics.hpp) against scikit-learn's values for the
// same numbers (sklearn 1.2: roc_auc_score, precision_score, recall_score,
// mean_squared_error, mean_absolute_error, r2_score), alone and through the Evaluator in
// every batch size, and fit's validation figures, which are the Evaluator's.
#include <cmath>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/builder.hpp"
#include "engine/evaluate.hpp"
#include "engine/fit.hpp"
#include "engine/metrics.hpp"
#include "engine/optimizer.hpp"

using namespace plangrad;

namespace {

// scores with ties (0.5 three times, two of them positive) and a zero logit
const std::vector<float> kScores = {0.5f, -1.0f, 2.0f, 0.5f, 0.0f, -3.0f, 1.0f, 0.5f};
const std::vector<float> kTruths = {1, 0, 1, 0, 1, 0, 0, 1};

// predictions and targets of two columns
const std::vector<float> kPredictions = {1.0f, 2.0f, 3.0f, -1.0f, 0.5f, 0.25f, 2.0f, 2.0f};
const std::vector<float> kTargets = {1.5f, 2.0f, 2.0f, 0.0f, 0.0f, 1.0f, 2.5f, 2.0f};

// x [N, k] -> dense k with W = identity, b = 0, so the output is x itself; `loss` picks
// the loss op against the target "y" [N, k].
Model identity(Dim k, bool binary) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, k}), y = b.input("y", {kBatchDim, k});
  Value out = b.dense(x, k, "fc");
  b.output(binary ? b.binary_cross_entropy_with_logits(out, y, "loss") : b.mse_loss(out, y, "loss"));
  b.output(out);
  Model m = b.build(1);
  std::vector<float> w(static_cast<std::size_t>(k * k), 0.0f);
  for (Dim i = 0; i < k; ++i) w[static_cast<std::size_t>(i * k + i)] = 1.0f;
  m.parameter("fc.weight") = Tensor<float>({k, k}, w);
  m.parameter("fc.bias") = Tensor<float>({k}, std::vector<float>(static_cast<std::size_t>(k), 0.0f));
  return m;
}

}  // namespace

TEST_CASE("binary counts and ROC AUC as scikit-learn computes them", "[metrics]") {
  BinaryCounts c;
  std::vector<unsigned char> truths;
  for (std::size_t i = 0; i < kScores.size(); ++i) {
    truths.push_back(kTruths[i] > 0.5f);
    c.add(kScores[i] > 0 ? 1 : 0, truths.back());
  }
  CHECK(c.true_positives == 3);
  CHECK(c.false_positives == 2);
  CHECK(c.false_negatives == 1);
  CHECK(c.precision() == Approx(0.6).epsilon(1e-15));
  CHECK(c.recall() == Approx(0.75).epsilon(1e-15));
  std::vector<std::size_t> order(kScores.size());
  CHECK(roc_auc(kScores.data(), truths.data(), kScores.size(), order.data()) == 0.6875);
  // Perfect, reversed, one class only; and nothing predicted positive.
  const float s[] = {1, 2, 3, 4};
  const unsigned char up[] = {0, 0, 1, 1}, down[] = {1, 1, 0, 0}, one[] = {1, 1, 1, 1};
  CHECK(roc_auc(s, up, 4, order.data()) == 1.0);
  CHECK(roc_auc(s, down, 4, order.data()) == 0.0);
  CHECK(std::isnan(roc_auc(s, one, 4, order.data())));
  // NaN scores (a diverged model) rank below every number, tied: ranks 1.5, 1.5, 3, 4 for
  // NaN, NaN, 0.2, 0.8; the positives (0.8 and a NaN) at 4 and 1.5.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float with_nan[] = {nan, 0.2f, 0.8f, nan};
  CHECK(roc_auc(with_nan, up, 4, order.data()) == 0.625);
  CHECK(BinaryCounts{}.precision() == 0.0);
  CHECK(BinaryCounts{}.recall() == 0.0);
}

TEST_CASE("RMSE, MAE and R² as scikit-learn computes them", "[metrics]") {
  RegressionMetrics m(2);
  m.begin(kTargets.data(), 4);
  m.add(kPredictions.data(), kTargets.data(), 3);  // in two batches
  m.add(kPredictions.data() + 6, kTargets.data() + 6, 1);
  CHECK(m.rmse() == Approx(0.6434768838116874).epsilon(1e-12));
  CHECK(m.mae() == Approx(0.53125).epsilon(1e-12));
  CHECK(m.r2() == Approx(0.4659090909090909).epsilon(1e-12));
  // A constant target column: R² 0 for it unless predicted exactly (sklearn's force_finite).
  std::vector<float> constant = kTargets, exact = kPredictions;
  for (std::size_t r = 0; r < 4; ++r) constant[2 * r + 1] = exact[2 * r + 1] = 2.0f;
  m.begin(constant.data(), 4);
  m.add(kPredictions.data(), constant.data(), 4);
  CHECK(m.r2() == Approx(0.25).epsilon(1e-12));
  m.begin(constant.data(), 4);
  m.add(exact.data(), constant.data(), 4);
  CHECK(m.r2() == Approx(0.75).epsilon(1e-12));
  CHECK(std::isnan(RegressionMetrics(1).rmse()));
}

TEST_CASE("the Evaluator reports a regression's figures in every batch size", "[metrics][evaluate]") {
  const Model model = identity(2, false);
  for (std::size_t batch : {1, 3, 4, 100}) {
    CAPTURE(batch);
    const EvalResult r = evaluate(model, {"x", "y", "loss", "", "fc"}, {kPredictions.data(), kTargets.data(), 4}, batch);
    CHECK(r.rmse == Approx(0.6434768838116874).epsilon(1e-7));
    CHECK(r.mae == Approx(0.53125).epsilon(1e-7));
    CHECK(r.r2 == Approx(0.4659090909090909).epsilon(1e-7));
    CHECK(r.loss == Approx(r.rmse * r.rmse).epsilon(1e-6));  // the MSE loss is the mean over all values
    CHECK(std::isnan(r.accuracy));
    CHECK(std::isnan(r.auc));
  }
  // Scored both ways: the prediction's argmax against one-hot rows, and the values.
  const std::vector<float> one_hot = {0, 1, 1, 0, 0, 1, 1, 0};
  const EvalResult both = evaluate(model, {"x", "y", "", "fc", "fc"}, {kPredictions.data(), one_hot.data(), 4}, 3);
  CHECK(both.correct == 3);  // row 3 (2, 2) ties: class 0, the first
  CHECK(std::isfinite(both.rmse));
}

TEST_CASE("the Evaluator reports a binary classifier's precision, recall and ROC AUC", "[metrics][evaluate]") {
  const Model model = identity(1, true);
  for (std::size_t batch : {1, 3, 8}) {
    CAPTURE(batch);
    const EvalResult r = evaluate(model, {"x", "y", "loss", "fc"}, {kScores.data(), kTruths.data(), 8}, batch);
    CHECK(r.correct == 5);
    CHECK(r.precision == Approx(0.6).epsilon(1e-15));
    CHECK(r.recall == Approx(0.75).epsilon(1e-15));
    CHECK(r.auc == 0.6875);
    CHECK(std::isnan(r.rmse));
  }
  // More than one logit: no binary figures.
  const std::vector<float> two = {1, 0, 0, 1};
  const EvalResult multi = evaluate(identity(2, false), {"x", "y", "", "fc"}, {two.data(), two.data(), 2}, 2);
  CHECK(multi.accuracy == 1.0);
  CHECK(std::isnan(multi.precision));
  CHECK(std::isnan(multi.auc));
}

TEST_CASE("fit's validation figures are the Evaluator's", "[metrics][fit]") {
  Model model = identity(2, false);
  SGD<float> sgd(model, SgdOptions{0.01});
  FitOptions o;
  o.epochs = 2;
  o.batch = 2;
  o.progress = Progress::Off;
  const ValueRoles roles{"x", "y", "loss", "", "fc"};
  const FitResult r = fit(model, sgd, roles, {kPredictions.data(), kTargets.data(), 4},
                          {kPredictions.data(), kTargets.data(), 4}, o);
  const EvalResult e = evaluate(model, roles, {kPredictions.data(), kTargets.data(), 4}, 1000);
  const EpochStats& s = r.history.back();
  CHECK(s.val_rmse == e.rmse);
  CHECK(s.val_mae == e.mae);
  CHECK(s.val_r2 == e.r2);
  CHECK(s.val_loss == e.loss);
  CHECK(std::isnan(s.val_accuracy));
  CHECK(std::isnan(s.val_auc));
}
