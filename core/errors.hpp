/// \file
/// The typed errors of plangrad. Each message names what went wrong and where: the node,
/// the op, the shapes, the JSON path or the file.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace plangrad {

/// The base of every error plangrad throws: catch it for any of them.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The graph is not a valid DAG of known ops: unknown op, wrong arity, unknown or
/// duplicate name, a cycle, a missing gradient rule.
struct GraphError : Error {
  using Error::Error;
};

/// Shapes do not fit an op's rule, or a tensor's data does not fit its shape.
struct ShapeError : Error {
  using Error::Error;
};

/// A model document is not a well-formed plangrad model.
struct FormatError : Error {
  using Error::Error;
};

/// A data file or a batch of data is truncated, mismatched or out of range.
struct DataError : Error {
  using Error::Error;
};

/// A command-line flag or a caller's option is invalid.
struct UsageError : Error {
  using Error::Error;
};

/// Training stopped because a number it needs to be finite was not: a batch's loss (NaN or
/// infinite, checked after every step) or, at an epoch's end, a parameter or state value
/// (engine/fit.hpp). The model and optimizer are left as the step that diverged made them
/// -- not usable -- and nothing was checkpointed after the last good state.
struct TrainingDiverged : Error {
  /// The message `what` and where the run diverged (the members of the same names).
  TrainingDiverged(const std::string& what, std::int64_t epoch, std::int64_t step, double loss,
                   std::int64_t epochs_done)
      : Error(what), epoch(epoch), step(step), loss(loss), epochs_done(epochs_done) {}
  std::int64_t epoch;        ///< the epoch it happened in, from 1
  std::int64_t step;         ///< the run's optimizer step, from 1 (the log's "steps" count)
  double loss;               ///< that step's loss (finite when a parameter was not)
  std::int64_t epochs_done;  ///< the epochs completed before it: the last good epoch end
};

}  // namespace plangrad
