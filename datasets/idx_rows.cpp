#include "datasets/idx_rows.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <utility>
#include <vector>

#include "core/activity.hpp"
#include "core/errors.hpp"
#include "core/file_io.hpp"
#include "datasets/idx_source.hpp"

namespace plangrad {

using idx_detail::fail;

IdxImageRows::IdxImageRows(std::string path, std::size_t limit) : path_(std::move(path)) {
  idx_detail::ByteSource src(path_);
  const idx_detail::IdxLayout layout =
      idx_detail::read_idx_header(src, path_, 3, "an images file of [count, rows, cols]");
  count_ = layout.dims[0];
  rows_ = layout.dims[1];
  cols_ = layout.dims[2];
  header_bytes_ = layout.header_bytes;
  gzipped_ = src.gzipped();
  if (limit > 0) count_ = std::min(count_, limit);
}

void IdxImageRows::read(Span<const std::size_t> indices, float* dst) const {
  const Activity activity("reading data file '" + path_ + "'");
  const std::size_t pixels = rows_ * cols_;
  for (const std::size_t i : indices)
    if (i >= count_)
      throw DataError(path_ + ": image " + std::to_string(i) + " asked for, the set has " + std::to_string(count_));
  std::vector<std::uint8_t> bytes(pixels);
  const auto scale = [&](float* row) {
    for (std::size_t p = 0; p < pixels; ++p) row[p] = static_cast<float>(bytes[p]) / 255.0f;
  };
  if (!gzipped_) {
    const int fd = open_regular_file(path_, "data file");
    for (std::size_t k = 0; k < indices.size(); ++k) {
      const auto offset = static_cast<off_t>(header_bytes_ + indices[k] * pixels);
      std::size_t got = 0;
      while (got < pixels) {
        const ssize_t r = ::pread(fd, bytes.data() + got, pixels - got, offset + static_cast<off_t>(got));
        if (r <= 0) {
          const std::string why = r < 0 ? std::strerror(errno) : "the file ended (truncated since it was opened?)";
          ::close(fd);
          fail(path_, "cannot read image " + std::to_string(indices[k]) + ": " + why);
        }
        got += static_cast<std::size_t>(r);
      }
      scale(dst + k * pixels);
    }
    ::close(fd);
    return;
  }
  // Front to back, the indices in ascending order; an image asked for twice is copied twice.
  std::vector<std::size_t> order(indices.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return indices[a] < indices[b]; });
  idx_detail::ByteSource src(path_);
  idx_detail::read_idx_header(src, path_, 3, "an images file of [count, rows, cols]");
  std::size_t next = 0;  // the image src is at
  for (std::size_t j = 0; j < order.size();) {
    const std::size_t want = indices[order[j]];
    for (; next <= want; ++next)
      if (src.read(bytes.data(), pixels) < pixels) {
        const std::string why = src.gzip_end_problem();
        fail(path_, "truncated: the data ends in image " + std::to_string(next) + " of " + std::to_string(count_) +
                        (why.empty() ? "" : " (gzip: " + why + ")"));
      }
    for (; j < order.size() && indices[order[j]] == want; ++j) scale(dst + order[j] * pixels);
  }
}

}  // namespace plangrad
