// IDX files, the format MNIST and Fashion-MNIST ship in: a big-endian header (magic
// 0x000008NN: two zero bytes, element type 0x08 = unsigned byte, NN dimensions), NN
// 32-bit big-endian sizes, then the bytes. Only the two shapes the data sets use are
// read: images (3-D: count, rows, cols) and labels (1-D: count). Files may be gzipped;
// gzip is detected by its magic bytes 1f 8b, not by the file name.
//
// Every problem with a file is a DataError whose message starts with the file's path
// and says what is wrong: bad magic, wrong element type or rank, zero or implausible
// dimensions, truncated or trailing bytes, corrupt gzip data, labels out of range,
// image and label counts that disagree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor_storage.hpp"
#include "core/visibility.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

inline constexpr std::uint32_t kIdxImagesMagic = 0x00000803;  // ubyte, 3 dimensions
inline constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;  // ubyte, 1 dimension
// The largest image read or written: rows * cols <= 2^24 pixels.
inline constexpr std::size_t kIdxMaxImagePixels = std::size_t{1} << 24;

// An images file as stored: count * rows * cols bytes, image after image, row-major.
struct IdxImages {
  std::size_t count = 0;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<std::uint8_t> pixels;
};

// A labelled image set ready for a graph: one flattened image per row.
struct ImageSet {
  Tensor<float> images;  // [n, rows * cols], pixel / 255 in [0, 1]
  Tensor<float> labels;  // [n], class indices 0 .. num_classes - 1 as floats
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t num_classes = 0;

  std::size_t size() const { return labels.size(); }
};

enum class Split { Train, Test };

// Plain readers. read_idx_labels checks every label is < num_classes.
IdxImages read_idx_images(const std::string& path);
std::vector<std::uint8_t> read_idx_labels(const std::string& path, std::size_t num_classes = 10);

// Reads an images file and its labels file, checks the counts agree, and scales.
ImageSet load_idx_pair(const std::string& images_path, const std::string& labels_path,
                       std::size_t num_classes = 10);

// The standard file names in `dir`: train-images-idx3-ubyte, train-labels-idx1-ubyte
// (Split::Train) or t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (Split::Test), each
// plain or with ".gz" (the plain file wins when both exist). A missing file is a
// DataError naming the names looked for.
ImageSet load_mnist_dir(const std::string& dir, Split split, std::size_t num_classes = 10);
// The file load_mnist_dir reads in `dir` for `split`: the images (images = true) or the
// labels, plain or with ".gz"; the same DataError as load_mnist_dir's when neither exists.
std::string mnist_file(const std::string& dir, Split split, bool images);
// "train-images-idx3-ubyte" and friends, without ".gz".
std::string mnist_images_name(Split split);
std::string mnist_labels_name(Split split);

// Writers (plain, never gzipped), atomic (core/atomic_file.hpp: write_file_atomically), so
// `path` is either the old file or the whole new one. The same checks as the readers: no zero dimension, rows * cols within
// kIdxMaxImagePixels, pixels.size() == count * rows * cols.
void write_idx_images(const std::string& path, const std::uint8_t* pixels, std::size_t count,
                      std::size_t rows, std::size_t cols);
void write_idx_images(const std::string& path, const IdxImages& images);
void write_idx_labels(const std::string& path, const std::uint8_t* labels, std::size_t count);
void write_idx_labels(const std::string& path, const std::vector<std::uint8_t>& labels);

}  // namespace plangrad
PLANGRAD_PUBLIC_END
