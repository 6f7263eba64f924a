// fit's side of data-parallel training (FitOptions::communicator): which rows of a global
// batch this rank takes, the gradient syncs of its training executors, and the epoch-end
// agreements (running statistics averaged, counts summed). docs/distributed.md describes
// the scheme; fit calls these at the few places where a distributed run differs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "engine/batch_runner.hpp"
#include "engine/batches.hpp"
#include "engine/communicator.hpp"
#include "engine/gradient_sync.hpp"
#include "engine/row_source.hpp"
#include "ops/batch_stats.hpp"

namespace plangrad {

class DataParallel {
 public:
  // Gradient buckets of about this many floats (4 MiB).
  static constexpr std::size_t kBucketFloats = std::size_t{1} << 20;

  // comm nullptr: one process (every member is then the identity). A UsageError when some
  // batch of the run (the full ones, or the last, shorter one unless drop_last) has fewer
  // rows than there are ranks: a rank would have no rows to compute a step on.
  // sync_batchnorm: batchnorm's statistics are the global batch's (ops/batch_stats.hpp),
  // installed from here to the destructor.
  DataParallel(Communicator* comm, std::size_t n, std::size_t batch, bool drop_last, bool sync_batchnorm);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  bool on() const { return comm_ != nullptr; }
  int rank() const { return rank_; }
  int ranks() const { return ranks_; }
  bool leader() const { return rank_ == 0; }

  // This rank's rows of a global batch of b rows: the contiguous slice
  // [rank * b / R, (rank + 1) * b / R) of it, so the slices differ by at most one row.
  std::size_t shard(std::size_t b) const { return begin(b, rank_ + 1) - begin(b, rank_); }
  Span<const std::size_t> rows(Span<const std::size_t> batch) const {
    return {batch.ptr + begin(batch.len, rank_), shard(batch.len)};
  }
  // The place of this rank's first row in a global batch of b rows.
  std::size_t first_row(std::size_t b) const { return begin(b, rank_); }

  // Makes `runner` (its executor trains on shard(global_batch) rows) seed its loss gradient
  // with shard / global_batch and sum its gradients across ranks; nullptr when off.
  std::unique_ptr<GradientSync> attach(BatchRunner& runner, std::size_t global_batch) const;

  // Every state value the training plan's ops write (batchnorm's running statistics), set
  // to its mean over the ranks; values no op writes are left alone (they agree already), and
  // so is everything with synchronized batchnorm (its statistics agree too).
  void average_written_state(Model& model, const Plan& training_plan) const;
  // The sum over ranks of a count.
  std::uint64_t sum(std::uint64_t count) const;

 private:
  std::size_t begin(std::size_t b, int r) const {
    return b * static_cast<std::size_t>(r) / static_cast<std::size_t>(ranks_);
  }
  struct StatsSum final : BatchStatsSum {
    Communicator* comm = nullptr;
    void sum(double* data, std::size_t n) override { comm->sum(data, n); }
  };
  Communicator* comm_;
  int rank_ = 0, ranks_ = 1;
  StatsSum stats_;
  bool synced_ = false;
};

// The training rows this rank takes in one epoch, read through a RowSource
// (FitOptions::train_rows) when the epoch starts, in the order its steps take them: this
// rank's slice of every batch from the iterator's position to the epoch's end. The epoch's
// order is the seed's (every rank draws the whole permutation, which is cheap), so each rank
// knows its rows before the first step and holds those alone: about n / R rows.
class EpochRows {
 public:
  // source nullptr: off (fit gathers from the DataView).
  EpochRows(RowSource* source, std::size_t x_len, std::size_t y_len) : source_(source), x_len_(x_len), y_len_(y_len) {}
  bool on() const { return source_ != nullptr; }
  // Reads the rows, then checks them as check_data checks a training set (engine/evaluate.hpp:
  // class indices below `classes`, every value finite), a DataError naming the example by
  // its index in the set and `source_name`.
  void load(const BatchIterator& batches, const DataParallel& dp, std::size_t classes, const std::string& source_name);
  // The next `rows` rows, into x and y.
  void take(std::size_t rows, float* x, float* y);
  std::size_t size() const { return indices_.size(); }  // the rows held

 private:
  RowSource* source_;
  std::size_t x_len_, y_len_;
  std::vector<std::size_t> indices_;
  std::vector<float> x_, y_;
  std::size_t next_ = 0;
};

}  // namespace plangrad
