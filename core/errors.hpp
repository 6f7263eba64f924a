// The typed errors of plangrad. Each message names what went wrong and where: the node,
// the op, the shapes, the JSON path or the file.
#pragma once

#include <stdexcept>
#include <string>

namespace plangrad {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The graph is not a valid DAG of known ops: unknown op, wrong arity, unknown or
// duplicate name, a cycle, a missing gradient rule.
struct GraphError : Error {
  using Error::Error;
};

// Shapes do not fit an op's rule, or a tensor's data does not fit its shape.
struct ShapeError : Error {
  using Error::Error;
};

// A model document is not a well-formed plangrad model.
struct FormatError : Error {
  using Error::Error;
};

// A data file or a batch of data is truncated, mismatched or out of range.
struct DataError : Error {
  using Error::Error;
};

// A command-line flag or a caller's option is invalid.
struct UsageError : Error {
  using Error::Error;
};

}  // namespace plangrad
