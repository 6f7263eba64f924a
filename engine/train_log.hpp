// fit's JSONL log: one JSON object per epoch, on a line of its own, with the keys
//   epoch, loss, train_accuracy, val_loss, val_accuracy, lr, seconds, steps
// in that order (docs/cli.md, `plangrad train --log`; scripts/plot_run.sh reads it). A
// number that is not finite (no validation data, no logits) is null. Each line is flushed
// as it is written, so a run that stops leaves whole lines; a write or flush that fails is
// a DataError naming the file, never a silently shorter log.
#pragma once

#include <cstdio>
#include <string>

#include "engine/epoch_stats.hpp"

namespace plangrad {

// The line for one epoch, without the newline.
std::string train_log_line(const EpochStats& stats);

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
