// Reading files that users hand us. Only regular files are read: a FIFO or a device named
// as a model or data file would block on open or never end. Sizes are bounded by the
// caller's limit before anything is read into memory.
#pragma once

#include <cstdint>
#include <string>

#include "core/visibility.hpp"

namespace plangrad {

// A read-only descriptor of `path` (the caller closes it). A DataError naming the path and
// `what` ("model file", "data file") when it cannot be opened or is not a regular file; the
// open never blocks.
int open_regular_file(const std::string& path, const std::string& what);

// The whole of a regular file. A DataError past `limit` bytes, naming the limit
// (`limit_name`, for limit_hint in core/limits.hpp), or on any read error.
// Exported from a shared libplangrad although not public API: plangrad::onnx, a library
// of its own, calls it.
PLANGRAD_PUBLIC_BEGIN
std::string read_regular_file(const std::string& path, const std::string& what, std::uint64_t limit,
                              const std::string& limit_name);
PLANGRAD_PUBLIC_END

}  // namespace plangrad
