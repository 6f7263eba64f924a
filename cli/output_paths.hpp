// Checks, before any work, that the files a command will write can be written: a typo in an
// output flag must fail at once, not after the hours of training whose result it was to
// hold. Each failure is a UsageError naming the flag and the path (exit 2 in the programs:
// a flag value that cannot work).
//
//   check_output_file("--out", out, WriteMode::Replace);
//   check_output_file("--log", log, WriteMode::Open);
//   if (same_file(out, checkpoint)) throw UsageError(...);
//
// A check is a moment's truth: a folder can still vanish or fill up before the write, which
// then fails as it always did (a DataError naming the file).
#pragma once

#include <string>

namespace plangrad {

enum class WriteMode {
  // Written to a temporary file in the same folder and renamed over the path (model files,
  // checkpoints): the folder must take a new file, and an existing path must be a regular file.
  Replace,
  // Opened and written in place (a log): an existing file must be writable (it may be a
  // pipe or a terminal), else its folder must take a new file.
  Open,
};

// A UsageError "FLAG PATH: ..." when the folder of `path` does not exist, is not a folder or
// cannot take a new file (a probe file is created in it and removed), or when `path` is a
// folder, or does not fit `mode`.
void check_output_file(const std::string& flag, const std::string& path, WriteMode mode);

// The same for a folder that files will be written into (circle --plot-data DIR): it exists
// and takes a new file.
void check_output_dir(const std::string& flag, const std::string& dir);

// Whether two paths name the same file, after ".", "..", symlinks and the working folder
// are resolved (std::filesystem::weakly_canonical); neither needs to exist.
bool same_file(const std::string& a, const std::string& b);

}  // namespace plangrad
