// The images of an IDX file read on demand: a process holds only the images it asks for
// (data-parallel training, where each rank keeps its shard: docs/distributed.md). The header
// is checked as read_idx_images checks it (datasets/idx.hpp), and so is a plain file's size.
// A plain file is read image by image at its offset (the records have a fixed size); a
// gzipped one, which cannot be entered in the middle, is decompressed front to back on
// every read, keeping the images asked for.
#pragma once

#include <cstddef>
#include <string>

#include "core/tensor.hpp"
#include "core/visibility.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

class IdxImageRows {
 public:
  // `limit` > 0: the set is the file's first `limit` images (when it has more).
  explicit IdxImageRows(std::string path, std::size_t limit = 0);

  std::size_t count() const { return count_; }
  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  const std::string& path() const { return path_; }
  bool gzipped() const { return gzipped_; }

  // The images `indices` (each < count(), in any order, repeats allowed), one row of
  // rows() * cols() floats each, pixel / 255 as load_idx_pair scales them: image indices[k]
  // into dst + k * rows() * cols(). A DataError naming the file on a read error.
  void read(Span<const std::size_t> indices, float* dst) const;

 private:
  std::string path_;
  std::size_t count_ = 0, rows_ = 0, cols_ = 0, header_bytes_ = 0;
  bool gzipped_ = false;
};

}  // namespace plangrad
PLANGRAD_PUBLIC_END
