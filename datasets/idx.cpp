#include "datasets/idx.hpp"

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

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw DataError(path + ": " + what);
}

std::string hex(std::uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*X", digits, v);
  return buf;
}

// Bytes of a file, plain or gzipped, read front to back.
class ByteSource {
 public:
  explicit ByteSource(const std::string& path) : path_(path) {
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
  ~ByteSource() {
    if (file_ != nullptr) std::fclose(file_);
    if (gz_ != nullptr) gzclose(gz_);
  }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  bool gzipped() const { return gzipped_; }
  // The file's size when it is plain (the decompressed size of a gzip file is unknown).
  std::optional<std::uint64_t> plain_size() const { return plain_size_; }

  // Reads up to n bytes; fewer only at the end of the data.
  std::size_t read(std::uint8_t* dst, std::size_t n) {
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

  // After a short read of a gzip file: why the stream ended ("" for a clean end).
  std::string gzip_end_problem() {
    if (gz_ == nullptr) return "";
    int err = Z_OK;
    gzerror(gz_, &err);
    if (err == Z_OK || err == Z_STREAM_END) return "";
    return gz_message();
  }

 private:
  // zlib's message, without the "<fd:3>: " it starts with (ours says the path instead).
  std::string gz_message() {
    int err = Z_OK;
    const char* raw = gzerror(gz_, &err);
    std::string msg = raw != nullptr && *raw != '\0' ? raw : "unknown error";
    const std::size_t end = msg.find(">: ");
    if (msg.compare(0, 4, "<fd:") == 0 && end != std::string::npos) msg.erase(0, end + 3);
    return msg;
  }

  std::string path_;
  std::FILE* file_ = nullptr;
  gzFile gz_ = nullptr;
  bool gzipped_ = false;
  std::optional<std::uint64_t> plain_size_;
};

std::uint32_t big_endian_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

void put_big_endian_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

std::string dims_str(const std::vector<std::uint32_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

// Reads and checks an IDX file of unsigned bytes with `rank` dimensions; returns the
// dimensions and fills `data` with exactly their product of bytes.
std::vector<std::uint32_t> read_idx(const std::string& path, int rank, const char* kind,
                                    std::vector<std::uint8_t>& data) {
  const Activity activity("reading data file '" + path + "'");
  ByteSource src(path);
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

ImageSet load_mnist_dir(const std::string& dir, Split split, std::size_t num_classes) {
  const char* which = split == Split::Train ? "training" : "test";
  const std::string images =
      find_mnist_file(dir, mnist_images_name(split), (std::string(which) + " images").c_str());
  const std::string labels =
      find_mnist_file(dir, mnist_labels_name(split), (std::string(which) + " labels").c_str());
  return load_idx_pair(images, labels, num_classes);
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
