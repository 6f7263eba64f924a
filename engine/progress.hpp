/// \file
/// What fit shows on a terminal while it trains: an in-place progress bar during an epoch
/// (rate and ETA), one line per finished epoch, and a line when the run is interrupted or
/// stops early. Output goes to one stream (stdout by default); nothing is shown with
/// Progress::Off.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "engine/epoch_stats.hpp"

namespace plangrad {

/// What fit shows (FitOptions::progress).
enum class Progress {
  Auto,   ///< Bar when the stream is a terminal (isatty), else Lines
  Bar,    ///< an in-place line with rate and ETA, redrawn during the epoch, then the epoch's line
  Lines,  ///< one line per epoch
  Off,    ///< nothing
};

/// Prints a run's progress in one Progress mode (see the file's description).
class ProgressPrinter {
 public:
  /// `epochs`: the run's total, shown as "epoch 3/10".
  ProgressPrinter(Progress mode, std::int64_t epochs, std::FILE* out = stdout);

  /// Epoch `epoch` (from 1) begins: `total` samples in it, `carried_seconds` already spent
  /// on it before a resume.
  void start_epoch(std::int64_t epoch, std::size_t total, double carried_seconds);
  /// After a step: `done` samples of the epoch so far, their losses summing to loss_sum.
  /// Redraws the bar at most every 100 ms; does nothing unless the mode is Bar.
  void step(std::size_t done, double loss_sum);
  /// The epoch's line, over the bar if one was drawn.
  void epoch_end(const EpochStats& stats);
  /// The line saying where the run was interrupted, over the bar if one was drawn.
  void interrupted(std::int64_t epoch, std::int64_t steps);
  /// Ends a bar left on the line, so that what comes next (an error) starts a line of its own.
  void end_bar();
  /// The line saying that early stopping ended the run.
  void early_stopped(std::int64_t epochs_without_improvement);

  Progress mode() const { return mode_; }  ///< the mode it prints in (Auto resolved)

 private:
  using Clock = std::chrono::steady_clock;
  Progress mode_;
  std::int64_t epochs_;
  std::FILE* out_;
  std::int64_t epoch_ = 0;
  std::size_t total_ = 0;
  double carried_seconds_ = 0;
  Clock::time_point start_{}, last_draw_{};
  bool drew_ = false;  // a bar is on the current line
};

}  // namespace plangrad
