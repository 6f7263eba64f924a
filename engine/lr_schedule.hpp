/// \file
/// Learning-rate schedules: the learning rate of an epoch (or step: the caller picks the
/// unit) as a pure function of a base rate, in PyTorch's closed forms. A schedule is a plain
/// value; the caller applies it, once per epoch, with Optimizer::set_learning_rate:
/// \code
///   const LrSchedule s = LrSchedule::parse("cosine:50:warmup=5");
///   for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
///     optimizer.set_learning_rate(s.lr(base_lr, epoch));
///     ...train one epoch...
///   }
/// \endcode
/// Epochs count from 0, so epoch 0 trains at the first rate (PyTorch: before the first
/// scheduler.step()).
#pragma once

#include <cstdint>
#include <string>

#include "core/visibility.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

/// A learning-rate schedule (see the file's description): a kind and its fields.
struct LrSchedule {
  /// Constant: the base rate; the others: the fields of the same names below.
  enum class Kind { Constant, Step, Cosine, Linear, OneCycle };
  Kind kind = Kind::Constant;  ///< which schedule

  /// \name Step
  /// Step (torch.optim.lr_scheduler.StepLR): lr * gamma^floor(epoch / step_size).
  ///@{
  std::int64_t step_size = 1;  ///< epochs between decays
  double gamma = 0.1;          ///< the factor of each decay
  ///@}

  /// \name Cosine
  /// Cosine (CosineAnnealingLR's closed form), over epochs [warmup, t_max]:
  /// \code
  ///   eta_min + (lr - eta_min) * (1 + cos(pi * (epoch - warmup) / (t_max - warmup))) / 2
  /// \endcode
  /// and eta_min after t_max (PyTorch's closed form would rise again; a run that trains past
  /// t_max keeps the floor). With warmup > 0, epochs [0, warmup) first rise linearly from
  /// warmup_start_factor * lr towards lr (LinearLR; the pair is PyTorch's SequentialLR of
  /// LinearLR(start_factor, total_iters=warmup) and CosineAnnealingLR(t_max - warmup)).
  ///@{
  std::int64_t t_max = 1;   ///< the epoch the rate reaches eta_min
  double eta_min = 0;       ///< the floor
  std::int64_t warmup = 0;  ///< epochs of linear warm-up before the cosine
  double warmup_start_factor = 1.0 / 3;  ///< LinearLR's default
  ///@}

  /// \name Linear
  /// Linear (torch.optim.lr_scheduler.LinearLR): lr * (start_factor + (end_factor -
  /// start_factor) * min(t, total_iters) / total_iters) -- a linear warm-up (or decay) that
  /// then holds.
  ///@{
  std::int64_t total_iters = 5;  ///< LinearLR's default
  double start_factor = 1.0 / 3;  ///< LinearLR's default
  double end_factor = 1.0;        ///< LinearLR's default
  ///@}

  /// \name OneCycle
  /// OneCycle (torch.optim.lr_scheduler.OneCycleLR, cosine annealing, two phases, momentum
  /// not cycled): from max_lr / div_factor up to max_lr over the first pct_start *
  /// total_steps steps, then down to max_lr / div_factor / final_div_factor at step
  /// total_steps - 1, held after it. It ignores the base rate. total_steps 0: not yet
  /// known (fit's caller sets it from the run's length, with_total; lr() refuses it).
  ///@{
  double max_lr = 0.1;              ///< the peak
  std::int64_t total_steps = 0;     ///< the cycle's length; 0: unset
  double pct_start = 0.3;           ///< OneCycleLR's default
  double div_factor = 25;           ///< OneCycleLR's default
  double final_div_factor = 1e4;    ///< OneCycleLR's default
  ///@}

  /// A constant rate: the base rate at every epoch.
  static LrSchedule constant();
  /// Each validates (UsageError naming the field): step_size >= 1, gamma > 0; t_max >= 1,
  /// eta_min >= 0, 0 <= warmup < t_max, warmup_start_factor in (0, 1].
  static LrSchedule step(std::int64_t step_size, double gamma = 0.1);
  /// \copydoc step
  static LrSchedule cosine(std::int64_t t_max, double eta_min = 0, std::int64_t warmup = 0,
                         double warmup_start_factor = 1.0 / 3);

  /// \copydoc step
  static LrSchedule linear(std::int64_t total_iters, double start_factor = 1.0 / 3, double end_factor = 1.0);
  /// OneCycle; validates: max_lr > 0, total_steps >= 0 (0: unset; else pct_start *
  /// total_steps above 1, so that the rise has a length), pct_start in (0, 1),
  /// div_factor >= 1, final_div_factor >= 1.
  static LrSchedule onecycle(double max_lr, std::int64_t total_steps = 0, double pct_start = 0.3,
                             double div_factor = 25, double final_div_factor = 1e4);
  /// A OneCycle whose total_steps is unset gets `total`; every other schedule is returned
  /// as it is.
  LrSchedule with_total(std::int64_t total) const;

  /// From text, as `plangrad train --schedule` takes it:
  /// \code
  ///   constant
  ///   step:STEP_SIZE[:GAMMA]                      step:10:0.1
  ///   cosine:T_MAX[:KEY=VALUE]...                 cosine:50  cosine:50:warmup=5
  ///       keys: eta_min, warmup, warmup_start_factor
  ///   linear:TOTAL_ITERS[:KEY=VALUE]...           linear:500:start_factor=0.01
  ///       keys: start_factor, end_factor
  ///   onecycle:MAX_LR[:KEY=VALUE]...              onecycle:0.1  onecycle:0.1:total=3000
  ///       keys: total, pct_start, div_factor, final_div_factor
  /// \endcode
  /// UsageError naming the bad part.
  static LrSchedule parse(const std::string& text);

  /// UsageError naming the first invalid field.
  void validate() const;

  /// The learning rate of an epoch (or step) >= 0 (UsageError for a negative one, invalid
  /// fields or a OneCycle without total_steps).
  double lr(double base_lr, std::int64_t epoch) const;

  /// The canonical text, which parse() reads back to an equal schedule.
  std::string str() const;

  /// The same kind and the same values of the fields that kind uses (the same rates).
  bool operator==(const LrSchedule& o) const;
  /// Another kind, or another value of a field the kind uses.
  bool operator!=(const LrSchedule& o) const { return !(*this == o); }
};

}  // namespace plangrad
PLANGRAD_PUBLIC_END
