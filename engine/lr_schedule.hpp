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

namespace plangrad {

/// A learning-rate schedule (see the file's description): a kind and its fields.
struct LrSchedule {
  /// Constant: the base rate; Step and Cosine: the fields of the same names below.
  enum class Kind { Constant, Step, Cosine };
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

  /// A constant rate: the base rate at every epoch.
  static LrSchedule constant();
  /// Each validates (UsageError naming the field): step_size >= 1, gamma > 0; t_max >= 1,
  /// eta_min >= 0, 0 <= warmup < t_max, warmup_start_factor in (0, 1].
  static LrSchedule step(std::int64_t step_size, double gamma = 0.1);
  /// \copydoc step
  static LrSchedule cosine(std::int64_t t_max, double eta_min = 0, std::int64_t warmup = 0,
                         double warmup_start_factor = 1.0 / 3);

  /// From text, as `plangrad train --schedule` takes it:
  /// \code
  ///   constant
  ///   step:STEP_SIZE[:GAMMA]                      step:10:0.1
  ///   cosine:T_MAX[:KEY=VALUE]...                 cosine:50  cosine:50:warmup=5
  ///       keys: eta_min, warmup, warmup_start_factor
  /// \endcode
  /// UsageError naming the bad part.
  static LrSchedule parse(const std::string& text);

  /// UsageError naming the first invalid field.
  void validate() const;

  /// The learning rate of an epoch >= 0 (UsageError for a negative epoch or invalid fields).
  double lr(double base_lr, std::int64_t epoch) const;

  /// The canonical text, which parse() reads back to an equal schedule.
  std::string str() const;

  /// The same kind and the same values of the fields that kind uses (the same rates).
  bool operator==(const LrSchedule& o) const;
  /// Another kind, or another value of a field the kind uses.
  bool operator!=(const LrSchedule& o) const { return !(*this == o); }
};

}  // namespace plangrad
