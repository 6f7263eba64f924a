/// \file
/// What one epoch of fit measured: what fit returns in its history, hands to on_epoch_end,
/// prints (engine/progress.hpp) and logs (engine/train_log.hpp).
#pragma once

#include <cstdint>
#include <limits>

#include "core/visibility.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

/// One epoch's figures (see the file's description).
struct EpochStats {
  std::int64_t epoch = 0;  ///< 1 for the first epoch of the run
  double train_loss = 0;   ///< mean over the epoch's samples of the batch losses (Train mode)
  double train_accuracy = std::numeric_limits<double>::quiet_NaN();  ///< from the training steps' logits; NaN without logits
  double val_loss = std::numeric_limits<double>::quiet_NaN();        ///< Eval mode; NaN without validation data
  double val_accuracy = std::numeric_limits<double>::quiet_NaN();    ///< Eval mode; NaN without validation data or logits
  // The validation set's other figures (engine/metrics.hpp), NaN when not measured.
  double val_precision = std::numeric_limits<double>::quiet_NaN();  ///< one logit: precision, class 1 positive
  double val_recall = std::numeric_limits<double>::quiet_NaN();     ///< one logit: recall, class 1 positive
  double val_auc = std::numeric_limits<double>::quiet_NaN();        ///< one logit: ROC AUC
  double val_rmse = std::numeric_limits<double>::quiet_NaN();       ///< regression: RMSE, in the target's units
  double val_mae = std::numeric_limits<double>::quiet_NaN();        ///< regression: MAE, in the target's units
  double val_r2 = std::numeric_limits<double>::quiet_NaN();         ///< regression: R²
  double lr = 0;         ///< the learning rate the epoch trained at
  double seconds = 0;    ///< wall time of the epoch: training and validation
  std::int64_t steps = 0;  ///< optimizer steps of the run so far
};

}  // namespace plangrad
PLANGRAD_PUBLIC_END
