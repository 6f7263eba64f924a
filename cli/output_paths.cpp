#include "cli/output_paths.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/errors.hpp"

namespace plangrad {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& flag, const std::string& path, const std::string& what) {
  throw UsageError(flag + " " + path + ": " + what);
}

// The folder exists and a file can be created in it: the one test that also sees read-only
// file systems, ACLs and full inode tables, which permission bits do not show.
void check_folder(const std::string& flag, const std::string& path, const fs::path& dir) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (!fs::exists(st)) fail(flag, path, "the folder " + dir.string() + " does not exist");
  if (!fs::is_directory(st)) fail(flag, path, dir.string() + " is not a folder");
  std::string tmpl = (dir / ".plangrad-write-check-XXXXXX").string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd < 0) fail(flag, path, "cannot create a file in " + dir.string() + ": " + std::strerror(errno));
  ::close(fd);
  ::unlink(name.data());
}

fs::path folder_of(const std::string& path) {
  const fs::path p(path);
  return p.has_parent_path() ? p.parent_path() : fs::path(".");
}

}  // namespace

void check_output_file(const std::string& flag, const std::string& path, WriteMode mode) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (fs::is_directory(st)) fail(flag, path, "is a folder, not a file");
  if (fs::exists(st)) {
    if (mode == WriteMode::Open) {
      if (::access(path.c_str(), W_OK) != 0) fail(flag, path, std::string("cannot be written: ") + std::strerror(errno));
      return;
    }
    if (!fs::is_regular_file(st)) fail(flag, path, "is not a regular file (a device or a pipe), it cannot be replaced");
  }
  check_folder(flag, path, folder_of(path));
}

void check_output_dir(const std::string& flag, const std::string& dir) { check_folder(flag, dir, fs::path(dir)); }

bool same_file(const std::string& a, const std::string& b) {
  const auto resolve = [](const std::string& path) {
    std::error_code ec;
    fs::path p = fs::absolute(path, ec);
    if (ec) p = path;
    fs::path r = fs::weakly_canonical(p, ec);
    return ec ? p.lexically_normal() : r;
  };
  return resolve(a) == resolve(b);
}

}  // namespace plangrad
