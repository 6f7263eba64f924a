/// \file
/// RowSource: a training set whose rows are read on demand instead of held in memory
/// (FitOptions::train_rows). fit asks, at the start of each epoch, for the rows that
/// epoch's batches take on this rank, so that in data-parallel training each rank holds
/// only its shard (docs/distributed.md). engine/image_rows.hpp reads IDX files this way.
#pragma once

#include <cstddef>

#include "core/tensor.hpp"
#include "core/visibility.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

/// The rows of a data set of n examples (the DataView's n), read on demand.
class RowSource {
 public:
  virtual ~RowSource() = default;
  /// Rows `indices` (each < n, in any order, repeats allowed): the features of row
  /// indices[k] into features + k * (the input's row length), its target into
  /// targets + k * (the target's row length). Errors name the source (a file).
  virtual void read(Span<const std::size_t> indices, float* features, float* targets) = 0;
};

}  // namespace plangrad
PLANGRAD_PUBLIC_END
