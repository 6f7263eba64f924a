#include "core/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/errors.hpp"
#include "core/limits.hpp"

namespace plangrad {

int open_regular_file(const std::string& path, const std::string& what) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw DataError("cannot open " + what + " '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const bool directory = S_ISDIR(st.st_mode);
    ::close(fd);
    throw DataError("cannot read " + what + " '" + path + "': " +
                    (directory ? "it is a directory" : "not a regular file"));
  }
  // Regular files ignore O_NONBLOCK; clear it all the same, for the readers that follow.
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

std::string read_regular_file(const std::string& path, const std::string& what, std::uint64_t limit,
                              const std::string& limit_name) {
  const int fd = open_regular_file(path, what);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw DataError("cannot read " + what + " '" + path + "': " + std::strerror(errno));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > limit)
    throw DataError(what + " '" + path + "' has " + std::to_string(size) + " bytes, more than " +
                    limit_hint(limit_name, limit));
  std::string text;
  text.resize(static_cast<std::size_t>(size));
  std::size_t have = 0;
  while (true) {
    if (have == text.size()) {
      // The file may have grown since fstat: read on, within the limit.
      if (text.size() >= limit) {
        char probe;
        const ssize_t r = ::read(fd, &probe, 1);
        if (r == 0) break;
        if (r > 0)
          throw DataError(what + " '" + path + "' grew past " + limit_hint(limit_name, limit));
        if (errno == EINTR) continue;
        throw DataError("cannot read " + what + " '" + path + "': " + std::strerror(errno));
      }
      text.resize(static_cast<std::size_t>(std::min<std::uint64_t>(limit, text.size() + 65536)));
    }
    const ssize_t r = ::read(fd, text.data() + have, text.size() - have);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      throw DataError("cannot read " + what + " '" + path + "': " + std::strerror(errno));
    }
    have += static_cast<std::size_t>(r);
  }
  text.resize(have);
  return text;
}

}  // namespace plangrad
