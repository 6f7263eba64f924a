#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include "core/errors.hpp"

namespace plangrad {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& step, int err) {
  throw DataError(path + ": cannot write: " + step + ": " + std::strerror(err));
}

// A descriptor closed when it goes out of scope, for the error paths; the success path
// closes the file itself and checks the result.
struct Descriptor {
  int fd = -1;
  Descriptor() = default;
  explicit Descriptor(int f) : fd(f) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

// A name no other writer picks at the same time: this process's id, a per-process
// counter, and the clock (for a process that reuses the id of one that left a file behind).
std::string unique_suffix() {
  static std::atomic<unsigned> counter{0};
  const auto ticks = static_cast<unsigned long long>(std::chrono::steady_clock::now().time_since_epoch().count());
  char buf[64];
  std::snprintf(buf, sizeof buf, "%ld-%u-%llx", static_cast<long>(::getpid()), counter.fetch_add(1), ticks);
  return buf;
}

// Removes the temporary files of `name` that a killed writer left in `dir`: those whose
// writer process (the id the name starts with) no longer exists. A live writer's file is
// left alone. Best effort: a file that cannot be read or removed stays.
void remove_stale_temporaries(const std::filesystem::path& dir, const std::string& name) {
  const std::string prefix = "." + name + ".tmp-";
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (file.compare(0, prefix.size(), prefix) != 0) continue;
    char* rest = nullptr;
    const long pid = std::strtol(file.c_str() + prefix.size(), &rest, 10);
    if (pid <= 0 || rest == nullptr || *rest != '-') continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) ::unlink(it->path().c_str());
  }
}

// write(2) may write less than asked, and Linux writes at most about 2 GB per call.
constexpr std::size_t kMaxWrite = std::size_t{1} << 30;

}  // namespace

void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> parts) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  if (!target.has_filename()) throw DataError(path + ": cannot write: not a file name");
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");

  // The directory is opened first: if it cannot be synced later, nothing has changed yet.
  Descriptor directory(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory.fd < 0) fail(path, "cannot open the directory '" + dir.string() + "'", errno);

  // O_EXCL with a fresh name, rather than mkstemp: mkstemp makes the file 0600, and
  // reading the umask to widen that would set it process-wide for a moment.
  std::string tmp;
  Descriptor file;
  for (int attempt = 0; file.fd < 0; ++attempt) {
    tmp = (dir / ("." + target.filename().string() + ".tmp-" + unique_suffix())).string();
    file.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (file.fd < 0 && (errno != EEXIST || attempt == 99))
      fail(path, "cannot create a temporary file in '" + dir.string() + "'", errno);
  }
  // From here a failure removes the temporary file; errno is read before close and unlink
  // can change it.
  auto abandon = [&](const std::string& step, int err) {
    if (file.fd >= 0) ::close(file.release());
    ::unlink(tmp.c_str());
    fail(path, step, err);
  };
  for (std::string_view part : parts) {
    const char* p = part.data();
    std::size_t left = part.size();
    while (left > 0) {
      const ssize_t w = ::write(file.fd, p, std::min(left, kMaxWrite));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) abandon("write to '" + tmp + "'", w < 0 ? errno : EIO);
      p += w;
      left -= static_cast<std::size_t>(w);
    }
  }
  if (::fsync(file.fd) != 0) abandon("fsync of '" + tmp + "'", errno);
  if (::close(file.release()) != 0) abandon("close of '" + tmp + "'", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) abandon("rename of '" + tmp + "'", errno);
  // EINVAL: the file system does not sync directories (its renames are as durable as it
  // makes them), which is no failure of this write.
  if (::fsync(directory.fd) != 0 && errno != EINVAL)
    fail(path, "the file is replaced, but the fsync of its directory '" + dir.string() + "' failed", errno);
  // The directory was opened read-only: closing it cannot lose data, so its result is moot.
  remove_stale_temporaries(dir, target.filename().string());
}

}  // namespace plangrad
