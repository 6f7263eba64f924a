// Synchronized batchnorm (docs/distributed.md): in data-parallel training each rank holds
// a slice of the global batch, and batchnorm's Train-mode statistics are its slice's unless
// they are summed across the ranks. The ops know nothing of ranks: fit installs a
// BatchStatsSum for the length of a run that asks for it (FitOptions::sync_batchnorm), and
// while one is installed batchnorm in Train mode sums its per-channel sums and counts
// through it, forward and backward, so that every rank normalizes with the global batch's
// mean and variance and back-propagates through them as one process would.
#pragma once

#include <cstddef>

namespace plangrad {

class BatchStatsSum {
 public:
  virtual ~BatchStatsSum() = default;
  // In place: the sum over ranks, the same bits on every rank. Called from the thread
  // that runs the plan, the same number of times on every rank.
  virtual void sum(double* data, std::size_t n) = 0;
};

// Process-wide; nullptr (the default): every batchnorm uses its own batch alone.
void set_batch_stats_sum(BatchStatsSum* sum);
BatchStatsSum* batch_stats_sum();

}  // namespace plangrad
