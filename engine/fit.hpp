/// \file
/// fit: the training loop. Mini-batches from a seeded BatchIterator are gathered straight
/// into a Training plan's input buffers (one plan at the batch size, a second for a shorter
/// last batch), each run is one optimizer step, and every epoch ends with a pass over the
/// validation set through the Evaluator (engine/evaluate.hpp). All plans are made once,
/// before the first step; a step allocates nothing. What fit prints is
/// engine/progress.hpp's, its log engine/train_log.hpp's, its Ctrl-C handling
/// engine/interrupt.hpp's.
/// \code
///   FitOptions o;
///   o.epochs = 20; o.batch = 64; o.seed = 1;
///   set_lr_schedule(o, LrSchedule::parse("cosine:20"));   // engine/lr_schedule.hpp
///   o.checkpoint = checkpoint_writer("run.ckpt.json");   // serialization/checkpoint.hpp
///   FitResult r = fit(model, adam, {"x", "labels", "loss", "logits"},
///                     {train_x, train_y, n}, {val_x, val_y, m}, o);
/// \endcode
/// Everything a run needs to continue exactly is a TrainingState: the optimizer's snapshot,
/// the batch iterator's position and generator, the epoch counters, the early-stopping
/// record and the options. fit hands one to options.checkpoint at every epoch end (and when
/// interrupted); a run given it back as options.resume, on a model and optimizer restored
/// from the same checkpoint, makes bit-identical steps to a run that never stopped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/visibility.hpp"
#include "engine/batches.hpp"
#include "engine/communicator.hpp"
#include "core/model.hpp"
#include "engine/epoch_stats.hpp"
#include "engine/evaluate.hpp"
#include "engine/optimizer.hpp"
#include "engine/progress.hpp"
#include "engine/row_source.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

struct TrainingState;

/// What a learning-rate schedule counts: epochs (the rate set once per epoch) or optimizer
/// steps (set before every step, from the run's step count).
enum class ScheduleUnit { Epoch, Step };

/// How fit trains: the run's length, batches, schedule, log, callbacks and resume.
struct FitOptions {
  std::int64_t epochs = 1;  ///< the run's total, counting epochs done before a resume
  std::size_t batch = 32;   ///< training batch size
  std::uint64_t seed = 0;   ///< the batch order's
  bool drop_last = false;   ///< false: a last, shorter batch per epoch (its own plan)
  std::size_t eval_batch = 0;  ///< validation batch size; 0: 1000 (or the set, when smaller)
  /// Early stopping: stop when the validation loss (the training loss without validation
  /// data) has not improved for this many epochs; 0: off.
  std::int64_t patience = 0;
  /// Keep a copy of the parameters and state of the epoch with the best monitored loss (the
  /// one patience watches) and put it back into the model when the run completes or stops
  /// early (not when interrupted: the run goes on from its checkpoint, which holds the copy).
  bool restore_best = false;
  /// Gradient clipping in every step (engine/optimizer.hpp); fit sets it on the optimizer.
  GradientClipping clip;
  /// Parameters to freeze (planner/plan.hpp: freeze_patterns -- names, or prefixes ending
  /// in `*`): no gradient, no update, no optimizer state (Optimizer::freeze). A checkpoint
  /// records the patterns.
  std::vector<std::string> freeze;
  /// The learning rate of each epoch (from 0), given the optimizer's rate when the run began
  /// (base_lr); empty: constant. Set both with set_lr_schedule. The name is what a
  /// checkpoint records, so that a resumed run can rebuild the function; a resume under
  /// another name is a UsageError.
  /// A function rather than an LrSchedule value, so that any rule can drive a run; the
  /// built-in schedules (engine/lr_schedule.hpp) plug in through set_lr_schedule.
  std::function<double(double base_lr, std::int64_t epoch)> lr_schedule;
  std::string lr_schedule_name = "constant";  ///< lr_schedule's name (see lr_schedule)
  /// Whether lr_schedule's second argument counts epochs or optimizer steps (from 0, over
  /// the whole run, a resumed one included). A checkpoint records it.
  ScheduleUnit lr_schedule_unit = ScheduleUnit::Epoch;
  /// One JSON object per epoch (JSONL, engine/train_log.hpp); empty: none. Appended to on
  /// resume, after cutting it back to the epochs the resumed state holds
  /// (truncate_train_log), so that the log agrees with the checkpoint. A log that cannot be
  /// opened or written is a DataError naming it.
  std::string log_path;
  Progress progress = Progress::Auto;  ///< what fit shows on the terminal (engine/progress.hpp)
  /// Called after every epoch; return false to stop the run there (FitStatus::Stopped).
  std::function<bool(const EpochStats&)> on_epoch_end;
  /// Called with the model and the state to continue from at every epoch end, and once more
  /// when the run is interrupted mid-epoch. serialization/checkpoint.hpp's
  /// checkpoint_writer(path) writes them to a file atomically.
  std::function<void(const Model&, const TrainingState&)> checkpoint;
  /// Continue this state (load_checkpoint(path).state): the batch order, the optimizer
  /// (set_state), the counters. The model must be the one saved with it.
  const TrainingState* resume = nullptr;
  /// SIGINT (Ctrl-C) during fit sets a flag instead of killing the process: the current step
  /// finishes, the checkpoint callback runs, fit returns FitStatus::Interrupted, and the
  /// previous handler is put back. A second Ctrl-C kills as usual (SA_RESETHAND).
  bool handle_sigint = true;
  /// Data-parallel training (docs/distributed.md): every rank calls fit with the same
  /// model, data and options, takes its contiguous slice of each global batch of `batch`
  /// rows, and the gradients are summed across the ranks before each update, so the run
  /// computes what one process would (up to the rounding of the sum). Only rank 0 shows
  /// progress, writes the log and calls `checkpoint`; on_epoch_end is called on every rank
  /// and must answer the same on all. nullptr: this process alone. An exception on one rank
  /// leaves the others waiting: the caller ends the job (Communicator::abort).
  Communicator* communicator = nullptr;
  /// With a communicator: batchnorm in Train mode normalizes with the statistics of the
  /// global batch, summed across the ranks in the forward and the backward (synchronized
  /// batchnorm), so that R ranks compute what one process computes at the same batch. false:
  /// each rank's slice has its own statistics, and the running statistics are averaged
  /// across the ranks at every epoch's end.
  bool sync_batchnorm = false;
  /// The training rows read on demand instead of from the DataView (whose n still counts
  /// them; its features and targets may then be null): at the start of every epoch fit
  /// reads the rows that epoch's batches take on this rank, and holds those alone -- with a
  /// communicator, this rank's slice of each batch, about n / R rows (docs/distributed.md).
  /// The rows are checked as the DataView's would be, when read. nullptr: the DataView.
  RowSource* train_rows = nullptr;
};

/// Everything needed to continue a run exactly. A checkpoint writes this beside the model.
struct TrainingState {
  /// \name Options
  /// The options the run was started with (FitOptions: epochs, batch, seed, drop_last,
  /// patience, the schedule's name) -- a resumed run takes them from here
  /// (serialization/checkpoint.hpp: resume_options).
  ///@{
  std::int64_t epochs = 0;    ///< FitOptions::epochs
  std::uint64_t batch = 0;    ///< FitOptions::batch
  std::uint64_t seed = 0;     ///< FitOptions::seed
  bool drop_last = false;     ///< FitOptions::drop_last
  std::int64_t patience = 0;  ///< FitOptions::patience
  std::string schedule = "constant";  ///< FitOptions::lr_schedule_name (LrSchedule::str())
  ScheduleUnit schedule_unit = ScheduleUnit::Epoch;  ///< FitOptions::lr_schedule_unit
  double base_lr = 0;                 ///< the rate the schedule scales
  GradientClipping clip;              ///< FitOptions::clip
  std::vector<std::string> freeze;    ///< FitOptions::freeze
  bool restore_best = false;          ///< FitOptions::restore_best
  std::uint64_t ranks = 1;  ///< the communicator's size (a run resumes on as many ranks)
  /// FitOptions::sync_batchnorm with a communicator (a run resumes with the same setting:
  /// the two are different computations)
  bool sync_batchnorm = false;
  ///@}

  std::int64_t epochs_done = 0;  ///< completed epochs
  std::int64_t steps = 0;        ///< optimizer steps made by fit
  OptimizerState optimizer;      ///< the optimizer's snapshot
  BatchIteratorState batches;  ///< at an epoch end: the next epoch, position 0

  /// \name The epoch in progress
  /// The epoch in progress when the run was interrupted mid-epoch (zeros at an epoch end),
  /// so that its statistics come out as if it had not been.
  ///@{
  double epoch_loss_sum = 0;  ///< sum over samples seen of the batch loss
  /// samples seen
  std::uint64_t epoch_samples = 0, epoch_correct = 0;  ///< samples classified right
  double epoch_seconds = 0;   ///< wall time spent on it
  ///@}

  /// \name Early stopping
  /// Early stopping: the best monitored loss so far (+inf: none) and epochs since.
  ///@{
  double best_loss = std::numeric_limits<double>::infinity();  ///< +inf: none
  std::int64_t epochs_without_improvement = 0;                 ///< epochs since best_loss
  /// With restore_best: the parameters and state values (by name) at the end of the epoch
  /// best_loss was seen at, and that epoch (from 1); empty and 0 until one is.
  std::map<std::string, std::vector<float>> best_weights;
  std::int64_t best_epoch = 0;  ///< see best_weights
  ///@}

  /// Every field equal (doubles by ==).
  bool operator==(const TrainingState& o) const;
  /// Some field differs.
  bool operator!=(const TrainingState& o) const { return !(*this == o); }
};

/// How a fit run ended (FitResult::status), unless it threw.
enum class FitStatus {
  Completed,     ///< all epochs
  EarlyStopped,  ///< patience ran out
  Stopped,       ///< on_epoch_end returned false
  Interrupted,   ///< SIGINT
};
/// "completed", "early_stopped", "stopped", "interrupted".
const char* fit_status_name(FitStatus status);

/// What fit returns.
struct FitResult {
  FitStatus status = FitStatus::Completed;  ///< how the run ended
  std::int64_t epochs_done = 0;  ///< of the whole run, including before a resume
  std::int64_t steps = 0;        ///< optimizer steps of the whole run
  std::vector<EpochStats> history;  ///< the epochs this call completed
  TrainingState state;              ///< the final state (what the last checkpoint holds)
  /// With FitOptions::restore_best: the epoch whose weights the model was given back at
  /// the end (0: none were).
  std::int64_t restored_epoch = 0;
};

/// Trains `model` in place with `optimizer` (bound to it). The roles and data are
/// evaluation's (engine/evaluate.hpp): the training steps' accuracy and the validation pass
/// use its definitions; roles.logits empty: no accuracy; validation.n == 0: no validation.
/// UsageError for a role that is not
/// a graph value or does not fit (names it), options that do not (batch 0, epochs < 1, ...),
/// or a resume state for another data set size or batch; DataError for a log that cannot be
/// written, and, before the first step (engine/evaluate.hpp: check_data), for a label that
/// is not a class index or a training value that is not finite, naming the example's index
/// in its set and the set's DataView::source.
///
/// Divergence: a step whose loss is not finite (NaN, infinite), or a parameter or state
/// value that is not finite at an epoch's end (checked before every checkpoint), throws
/// TrainingDiverged (core/errors.hpp) with the epoch, the step and the loss. Nothing is
/// logged or checkpointed after the last good epoch end, so the last checkpoint on disk is
/// the state to go back to; the model and optimizer in memory are left as the failing step
/// made them, not usable. An exception rather than a FitStatus so that a caller that does not
/// handle it cannot go on to save or use the broken model.
FitResult fit(Model& model, Optimizer<float>& optimizer, const ValueRoles& roles, const DataView& train,
              const DataView& validation, const FitOptions& options);

/// Sets options.lr_schedule and lr_schedule_name from a schedule value with
/// `double lr(double base_lr, std::int64_t epoch) const` and `std::string str() const`
/// (engine/lr_schedule.hpp's LrSchedule).
template <class S>
void set_lr_schedule(FitOptions& options, const S& schedule) {
  options.lr_schedule = [schedule](double base_lr, std::int64_t epoch) { return schedule.lr(base_lr, epoch); };
  options.lr_schedule_name = schedule.str();
}

}  // namespace plangrad
PLANGRAD_PUBLIC_END
