// Inside the IDX readers (datasets/idx.cpp, datasets/idx_rows.cpp): bytes of a file read
// front to back, plain or gzipped, and the checked header of an IDX file. Not public API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "core/visibility.hpp"

struct gzFile_s;  // zlib's gzFile, kept out of this header

PLANGRAD_PUBLIC_BEGIN
namespace plangrad::idx_detail {

// A DataError "<path>: <what>".
[[noreturn]] void fail(const std::string& path, const std::string& what);
std::string hex(std::uint32_t v, int digits);
std::uint32_t big_endian_u32(const std::uint8_t* p);
std::string dims_str(const std::vector<std::uint32_t>& dims);

// Bytes of a file, plain or gzipped (detected by its magic bytes), read front to back.
class ByteSource {
 public:
  explicit ByteSource(const std::string& path);
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  bool gzipped() const { return gzipped_; }
  // The file's size when it is plain (the decompressed size of a gzip file is unknown).
  std::optional<std::uint64_t> plain_size() const { return plain_size_; }
  // Reads up to n bytes; fewer only at the end of the data.
  std::size_t read(std::uint8_t* dst, std::size_t n);
  // After a short read of a gzip file: why the stream ended ("" for a clean end).
  std::string gzip_end_problem();

 private:
  // zlib's message, without the "<fd:3>: " it starts with (ours says the path instead).
  std::string gz_message();

  std::string path_;
  std::FILE* file_ = nullptr;
  gzFile_s* gz_ = nullptr;
  bool gzipped_ = false;
  std::optional<std::uint64_t> plain_size_;
};

// An IDX file's header, checked: magic, element type, rank, dimensions, the data's size
// against the limits and, for a plain file, against the file's size.
struct IdxLayout {
  std::vector<std::uint32_t> dims;
  std::size_t header_bytes = 0;
  std::uint64_t data_bytes = 0;
  std::string expected;  // "expected N bytes for [..] (..) = H-byte header + D bytes of data"
};
// Reads the header of an IDX file of unsigned bytes with `rank` dimensions from the start
// of `src`; `kind` names what the file should be in the errors.
IdxLayout read_idx_header(ByteSource& src, const std::string& path, int rank, const char* kind);

}  // namespace plangrad::idx_detail
PLANGRAD_PUBLIC_END
