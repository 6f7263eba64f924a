// Writing a file so that it is, at every moment and after a crash, either the old file
// (or none) or the whole new one: model files, checkpoints and IDX files are written
// this way.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "core/visibility.hpp"

namespace plangrad {

// Replaces the file at `path` with `parts`, written one after another (so a header and a
// large block of data need not be copied into one buffer first).
//
// The bytes go to a new temporary file beside `path` (same directory, so the rename below
// cannot cross file systems), created like any new file with mode 0666 less the umask.
// The file is fsync'ed and closed, renamed over `path`, and then the directory is fsync'ed
// so that the rename itself survives a crash. Every step is checked. A failure before the
// rename removes the temporary file and leaves `path` as it was; the DataError reads
// "<path>: cannot write: <step>: <reason>". Should only the directory's fsync fail, `path`
// already holds the new bytes (the DataError says so) but may lose them in a crash.
// After a write, the temporary files of `path` that killed writers left behind (their
// process is gone) are removed.
// Exported from a shared libplangrad although not public API: plangrad::onnx, a library
// of its own, calls it.
PLANGRAD_PUBLIC_BEGIN
void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> parts);
PLANGRAD_PUBLIC_END

inline void write_file_atomically(const std::string& path, std::string_view contents) {
  write_file_atomically(path, {contents});
}

}  // namespace plangrad
