#include "datasets/idx_source.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/errors.hpp"
#include "datasets/idx.hpp"
#include "core/file_io.hpp"
#include "core/limits.hpp"

namespace plangrad::idx_detail {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw DataError(path + ": " + what);
}

std::string hex(std::uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*X", digits, v);
  return buf;
}

ByteSource::ByteSource(const std::string& path) : path_(path) {
  const int fd = open_regular_file(path, "data file");
  unsigned char magic[2] = {0, 0};
  const ssize_t got = ::pread(fd, magic, 2, 0);
  gzipped_ = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (!gzipped_) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || (file_ = ::fdopen(fd, "rb")) == nullptr) {
      ::close(fd);
      fail(path, std::string("cannot read: ") + std::strerror(errno));
    }
    plain_size_ = static_cast<std::uint64_t>(st.st_size);
    return;
  }
  gz_ = gzdopen(fd, "rb");  // owns fd from here on
  if (gz_ == nullptr) {
    ::close(fd);
    fail(path, std::string("cannot open: ") + std::strerror(errno));
  }
  gzbuffer(gz_, 1 << 17);
}

ByteSource::~ByteSource() {
  if (file_ != nullptr) std::fclose(file_);
  if (gz_ != nullptr) gzclose(gz_);
}

std::size_t ByteSource::read(std::uint8_t* dst, std::size_t n) {
  std::size_t total = 0;
  while (total < n) {
    std::size_t got = 0;
    if (file_ != nullptr) {
      got = std::fread(dst + total, 1, n - total, file_);
      if (got == 0 && std::ferror(file_)) fail(path_, "read error");
    } else {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - total, 1u << 30));
      const int r = gzread(gz_, dst + total, chunk);
      if (r < 0) fail(path_, std::string("corrupt gzip data: ") + gz_message());
      got = static_cast<std::size_t>(r);
    }
    if (got == 0) break;
    total += got;
  }
  return total;
}

std::string ByteSource::gzip_end_problem() {
  if (gz_ == nullptr) return "";
  int err = Z_OK;
  gzerror(gz_, &err);
  if (err == Z_OK || err == Z_STREAM_END) return "";
  return gz_message();
}

std::string ByteSource::gz_message() {
  int err = Z_OK;
  const char* raw = gzerror(gz_, &err);
  std::string msg = raw != nullptr && *raw != '\0' ? raw : "unknown error";
  const std::size_t end = msg.find(">: ");
  if (msg.compare(0, 4, "<fd:") == 0 && end != std::string::npos) msg.erase(0, end + 3);
  return msg;
}

std::uint32_t big_endian_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::string dims_str(const std::vector<std::uint32_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

IdxLayout read_idx_header(ByteSource& src, const std::string& path, int rank, const char* kind) {
  const std::uint32_t expected_magic = 0x800u | static_cast<std::uint32_t>(rank);
  const std::string expected = hex(expected_magic, 8) + ", " + kind;

  std::uint8_t magic[4];
  const std::size_t got_magic = src.read(magic, 4);
  if (got_magic == 0) fail(path, "empty file (expected an IDX header, magic " + expected + ")");
  if (got_magic < 4) {
    fail(path, "truncated header: " + std::to_string(got_magic) +
                   " bytes, shorter than the 4-byte magic number");
  }
  const std::uint32_t m = big_endian_u32(magic);
  if (magic[0] != 0 || magic[1] != 0) {
    fail(path, "bad magic number " + hex(m, 8) + ": not an IDX file (expected " + expected + ")");
  }
  if (magic[2] != 0x08) {
    fail(path, "unsupported element type " + hex(magic[2], 2) + " in magic number " + hex(m, 8) +
                   ": expected 0x08, unsigned byte (magic " + expected + ")");
  }
  if (magic[3] != rank) {
    fail(path, "has " + std::to_string(magic[3]) + " dimension(s) (magic " + hex(m, 8) +
                   "), expected " + std::to_string(rank) + " (magic " + expected + ")");
  }

  const std::size_t header_bytes = 4 + 4 * static_cast<std::size_t>(rank);
  std::uint8_t raw_dims[12];
  const std::size_t got_dims = src.read(raw_dims, 4 * static_cast<std::size_t>(rank));
  if (got_dims < 4 * static_cast<std::size_t>(rank)) {
    fail(path, "truncated header: expected " + std::to_string(header_bytes) + " bytes, got " +
                   std::to_string(4 + got_dims));
  }
  std::vector<std::uint32_t> dims(static_cast<std::size_t>(rank));
  for (int i = 0; i < rank; ++i) {
    dims[static_cast<std::size_t>(i)] = big_endian_u32(raw_dims + 4 * i);
  }
  const char* dim_names = rank == 3 ? " (count, rows, cols)" : " (count)";
  for (std::uint32_t d : dims) {
    if (d == 0) fail(path, "zero dimension in " + dims_str(dims) + dim_names);
  }
  std::uint64_t data_bytes = dims[0];
  if (rank == 3) {
    const std::uint64_t pixels = std::uint64_t{dims[1]} * dims[2];
    if (pixels > kIdxMaxImagePixels) {
      fail(path, "implausible image size " + std::to_string(dims[1]) + " x " +
                     std::to_string(dims[2]) + " (more than 2^24 pixels)");
    }
    data_bytes *= pixels;  // at most 2^32 * 2^24
  }
  if (data_bytes > limits().data_bytes) {
    fail(path, "size " + dims_str(dims) + dim_names + " asks for " + std::to_string(data_bytes) +
                   " bytes of data, more than " + limit_hint("data-bytes", limits().data_bytes));
  }

  const std::uint64_t expected_size = header_bytes + data_bytes;
  const std::string expected_str = "expected " + std::to_string(expected_size) + " bytes for " +
                                   dims_str(dims) + dim_names + " = " +
                                   std::to_string(header_bytes) + "-byte header + " +
                                   std::to_string(data_bytes) + " bytes of data";
  if (auto size = src.plain_size()) {
    if (*size < expected_size)
      fail(path, "truncated: " + expected_str + ", got " + std::to_string(*size));
    if (*size > expected_size) {
      fail(path, "trailing bytes: " + expected_str + ", file has " + std::to_string(*size));
    }
  }

  return {dims, header_bytes, data_bytes, expected_str};
}

}  // namespace plangrad::idx_detail
