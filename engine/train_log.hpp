// fit's JSONL log: one JSON object per epoch, on a line of its own, with the keys
//   epoch, loss, train_accuracy, val_loss, val_accuracy, lr, seconds, steps
// in that order (docs/cli.md, `plangrad train --log`; scripts/plot_run.sh reads it). A
// number that is not finite (no validation data, no logits) is null. The validation
// set's other figures (val_precision, val_recall, val_auc; val_rmse, val_mae, val_r2) come
// after val_accuracy, only when measured. Each line is flushed
// as it is written, so a run that stops leaves whole lines; a write or flush that fails is
// a DataError naming the file, never a silently shorter log.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "engine/epoch_stats.hpp"

namespace plangrad {

// The line for one epoch, without the newline.
std::string train_log_line(const EpochStats& stats);

// Before a resumed run appends to its log: cuts the log back to what the checkpoint holds,
// the lines up to the first whose epoch is above `epochs_done` (a run killed after writing
// an epoch's line and before saving its checkpoint runs that epoch again), and a partial
// last line (killed mid-write). Returns the lines cut. A missing file, or one that is not
// a regular file (a pipe, a terminal), is left alone; so is a file with a line that is not
// a log line (a JSON object with an integer "epoch"): a DataError naming the file and the
// line, since it may not be a log at all.
std::size_t truncate_train_log(const std::string& path, std::int64_t epochs_done);

class TrainLog {
 public:
  TrainLog() = default;  // no log: write() does nothing
  // Opens `path` for writing, or for appending (a resumed run). A DataError when it
  // cannot be opened.
  TrainLog(const std::string& path, bool append);
  ~TrainLog();
  TrainLog(TrainLog&& other) noexcept;
  TrainLog& operator=(TrainLog&& other) noexcept;
  TrainLog(const TrainLog&) = delete;
  TrainLog& operator=(const TrainLog&) = delete;

  void write(const EpochStats& stats);
  // Closes the file, a DataError if that fails; the destructor closes without checking
  // (every line was flushed and checked when it was written).
  void close();
  bool is_open() const { return file_ != nullptr; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace plangrad
