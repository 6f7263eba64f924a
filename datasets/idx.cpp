#include "datasets/idx.hpp"
#include "datasets/idx_source.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>

#include "core/atomic_file.hpp"
#include "core/activity.hpp"
#include "core/errors.hpp"
#include "core/file_io.hpp"
#include "core/limits.hpp"

namespace plangrad {
namespace {

namespace fs = std::filesystem;
using namespace idx_detail;

void put_big_endian_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

// Reads and checks an IDX file of unsigned bytes with `rank` dimensions; returns the
// dimensions and fills `data` with exactly their product of bytes.
std::vector<std::uint32_t> read_idx(const std::string& path, int rank, const char* kind,
                                    std::vector<std::uint8_t>& data) {
  const Activity activity("reading data file '" + path + "'");
  ByteSource src(path);
  const IdxLayout layout = read_idx_header(src, path, rank, kind);
  const std::vector<std::uint32_t>& dims = layout.dims;
  const std::size_t header_bytes = layout.header_bytes;
  const std::uint64_t data_bytes = layout.data_bytes;
  const std::string& expected_str = layout.expected;

  // A gzip file's true length shows only while reading it, so grow the buffer with the
  // data instead of trusting the header's claim up front.
  data.clear();
  constexpr std::size_t kChunk = std::size_t{1} << 22;
  std::size_t have = 0;
  while (have < data_bytes) {
    const std::size_t want = std::min<std::uint64_t>(kChunk, data_bytes - have);
    data.resize(have + want);
    const std::size_t got = src.read(data.data() + have, want);
    have += got;
    if (got < want) {
      std::string why = src.gzip_end_problem();
      fail(path, "truncated: " + expected_str + ", got " + std::to_string(header_bytes + have) +
                     (src.gzipped() ? " after decompression" : "") +
                     (why.empty() ? "" : " (gzip: " + why + ")"));
    }
  }
  std::uint8_t extra = 0;
  if (src.read(&extra, 1) != 0) {
    fail(path, "trailing bytes: " + expected_str + ", but the " +
                   (src.gzipped() ? "decompressed data is" : "file is") + " longer");
  }
  return dims;
}

// The header and the data as one file, written atomically (core/atomic_file.hpp).
void write_idx(const std::string& path, const std::vector<std::uint8_t>& header, const std::uint8_t* data,
               std::size_t len) {
  write_file_atomically(path, {std::string_view(reinterpret_cast<const char*>(header.data()), header.size()),
                               std::string_view(reinterpret_cast<const char*>(data), len)});
}

ImageSet to_image_set(const IdxImages& raw, const std::vector<std::uint8_t>& labels,
                      std::size_t num_classes) {
  ImageSet set;
  set.rows = raw.rows;
  set.cols = raw.cols;
  set.num_classes = num_classes;
  const std::size_t pixels = raw.rows * raw.cols;
  set.images = Tensor<float>({static_cast<Dim>(raw.count), static_cast<Dim>(pixels)});
  float* dst = set.images.data();
  for (std::size_t i = 0; i < raw.pixels.size(); ++i) {
    dst[i] = static_cast<float>(raw.pixels[i]) / 255.0f;
  }
  set.labels = Tensor<float>({static_cast<Dim>(labels.size())});
  for (std::size_t i = 0; i < labels.size(); ++i) set.labels[i] = static_cast<float>(labels[i]);
  return set;
}

std::string find_mnist_file(const std::string& dir, const std::string& name, const char* what) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail(dir, "not a directory (looking for MNIST-style " + std::string(what) + ")");
  for (const std::string& candidate : {name, name + ".gz"}) {
    const fs::path p = fs::path(dir) / candidate;
    if (fs::exists(p, ec)) return p.string();
  }
  fail(dir, std::string("no ") + what + " file: looked for " + name + " and " + name + ".gz");
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
  IdxImages images;
  const std::vector<std::uint32_t> dims =
      read_idx(path, 3, "an images file of [count, rows, cols]", images.pixels);
  images.count = dims[0];
  images.rows = dims[1];
  images.cols = dims[2];
  return images;
}

std::vector<std::uint8_t> read_idx_labels(const std::string& path, std::size_t num_classes) {
  if (num_classes == 0 || num_classes > 256) {
    fail(path, "cannot check labels against " + std::to_string(num_classes) +
                   " classes (byte labels allow 1 to 256)");
  }
  std::vector<std::uint8_t> labels;
  read_idx(path, 1, "a labels file of [count]", labels);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= num_classes) {
      fail(path, "label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                     " is out of range [0, " + std::to_string(num_classes - 1) + "]");
    }
  }
  return labels;
}

ImageSet load_idx_pair(const std::string& images_path, const std::string& labels_path,
                       std::size_t num_classes) {
  const IdxImages images = read_idx_images(images_path);
  const std::vector<std::uint8_t> labels = read_idx_labels(labels_path, num_classes);
  if (labels.size() != images.count) {
    throw DataError(images_path + ": " + std::to_string(images.count) + " images, but " +
                    labels_path + ": " + std::to_string(labels.size()) + " labels");
  }
  return to_image_set(images, labels, num_classes);
}

std::string mnist_images_name(Split split) {
  return split == Split::Train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte";
}

std::string mnist_labels_name(Split split) {
  return split == Split::Train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte";
}

std::string mnist_file(const std::string& dir, Split split, bool images) {
  const std::string which = std::string(split == Split::Train ? "training" : "test") + (images ? " images" : " labels");
  return find_mnist_file(dir, images ? mnist_images_name(split) : mnist_labels_name(split), which.c_str());
}

ImageSet load_mnist_dir(const std::string& dir, Split split, std::size_t num_classes) {
  return load_idx_pair(mnist_file(dir, split, true), mnist_file(dir, split, false), num_classes);
}

void write_idx_images(const std::string& path, const std::uint8_t* pixels, std::size_t count,
                      std::size_t rows, std::size_t cols) {
  constexpr std::size_t kMaxDim = 0xFFFFFFFFu;
  if (count == 0 || rows == 0 || cols == 0) {
    fail(path, "cannot write images with a zero dimension: [" + std::to_string(count) + ", " +
                   std::to_string(rows) + ", " + std::to_string(cols) + "]");
  }
  if (count > kMaxDim || rows > kIdxMaxImagePixels || cols > kIdxMaxImagePixels ||
      rows * cols > kIdxMaxImagePixels || count * rows * cols > limits().data_bytes) {
    fail(path, "cannot write images of implausible size [" + std::to_string(count) + ", " +
                   std::to_string(rows) + ", " + std::to_string(cols) + "]");
  }
  std::vector<std::uint8_t> header;
  put_big_endian_u32(header, kIdxImagesMagic);
  put_big_endian_u32(header, static_cast<std::uint32_t>(count));
  put_big_endian_u32(header, static_cast<std::uint32_t>(rows));
  put_big_endian_u32(header, static_cast<std::uint32_t>(cols));
  write_idx(path, header, pixels, count * rows * cols);
}

void write_idx_images(const std::string& path, const IdxImages& images) {
  if (images.pixels.size() != images.count * images.rows * images.cols) {
    fail(path, "cannot write images: " + std::to_string(images.pixels.size()) + " pixels for [" +
                   std::to_string(images.count) + ", " + std::to_string(images.rows) + ", " +
                   std::to_string(images.cols) + "]");
  }
  write_idx_images(path, images.pixels.data(), images.count, images.rows, images.cols);
}

void write_idx_labels(const std::string& path, const std::uint8_t* labels, std::size_t count) {
  if (count == 0) fail(path, "cannot write an empty labels file");
  if (count > 0xFFFFFFFFu) fail(path, "cannot write " + std::to_string(count) + " labels");
  std::vector<std::uint8_t> header;
  put_big_endian_u32(header, kIdxLabelsMagic);
  put_big_endian_u32(header, static_cast<std::uint32_t>(count));
  write_idx(path, header, labels, count);
}

void write_idx_labels(const std::string& path, const std::vector<std::uint8_t>& labels) {
  write_idx_labels(path, labels.data(), labels.size());
}

}  // namespace plangrad
