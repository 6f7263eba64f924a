// IdxImageRows (datasets/idx_rows.hpp): images read on demand, by offset from a plain file
// and front to back from a gzipped one, are the images read_idx_images reads, scaled as
// load_idx_pair scales them; and ImageRows (engine/image_rows.hpp) checks the set as
// load_image_set does.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "datasets/idx.hpp"
#include "datasets/idx_rows.hpp"
#include "tests/error_message.hpp"
#include "tests/temp_dir.hpp"

using namespace plangrad;
using Catch::Matchers::Contains;
using plangrad::testing::error_message;
using plangrad::testing::TempDir;

namespace {

// 9 images of 3 x 2, every pixel different within an image.
IdxImages images() {
  IdxImages im;
  im.count = 9;
  im.rows = 3;
  im.cols = 2;
  for (std::size_t i = 0; i < 54; ++i) im.pixels.push_back(static_cast<std::uint8_t>((i * 37 + 5) % 256));
  return im;
}

void gzip_copy(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  gzFile f = gzopen(to.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

}  // namespace

TEST_CASE("IdxImageRows reads the images asked for, plain and gzipped", "[idx]") {
  TempDir dir;
  write_idx_images(dir.file("im"), images());
  gzip_copy(dir.file("im"), dir.file("im.gz"));
  std::vector<std::uint8_t> labels(9, 0);
  write_idx_labels(dir.file("lb"), labels);
  const ImageSet whole = load_idx_pair(dir.file("im"), dir.file("lb"));
  for (const char* name : {"im", "im.gz"}) {
    INFO(name);
    const IdxImageRows rows(dir.file(name));
    CHECK(rows.gzipped() == (std::string(name) == "im.gz"));
    CHECK(rows.count() == 9);
    CHECK(rows.rows() == 3);
    CHECK(rows.cols() == 2);
    const std::vector<std::size_t> asked = {8, 0, 5, 0, 3, 8};  // any order, repeats
    std::vector<float> got(asked.size() * 6, -1.0f);
    rows.read({asked.data(), asked.size()}, got.data());
    for (std::size_t k = 0; k < asked.size(); ++k)
      for (std::size_t p = 0; p < 6; ++p) CHECK(got[k * 6 + p] == whole.images.data()[asked[k] * 6 + p]);
    const std::vector<std::size_t> past = {9};
    CHECK_THAT(error_message<DataError>([&] { rows.read({past.data(), 1}, got.data()); }),
               Contains("image 9 asked for, the set has 9"));
    const IdxImageRows first(dir.file(name), 4);
    CHECK(first.count() == 4);
  }
}

TEST_CASE("IdxImageRows checks the header, and a plain file's size, when opened", "[idx]") {
  TempDir dir;
  write_idx_images(dir.file("im"), images());
  std::filesystem::resize_file(dir.file("im"), 16 + 53);
  CHECK_THAT(error_message<DataError>([&] { IdxImageRows r(dir.file("im")); }), Contains("truncated"));
  write_idx_labels(dir.file("lb"), std::vector<std::uint8_t>(3, 1));
  CHECK_THAT(error_message<DataError>([&] { IdxImageRows r(dir.file("lb")); }), Contains("dimension"));
}

TEST_CASE("IdxImageRows reports a gzipped file that ends before an image asked for", "[idx]") {
  TempDir dir;
  // A gzip stream whose data stops inside image 4 (the header claims 9 images).
  write_idx_images(dir.file("im"), images());
  std::filesystem::resize_file(dir.file("im"), 16 + 4 * 6 + 3);
  gzip_copy(dir.file("im"), dir.file("im.gz"));
  const IdxImageRows rows(dir.file("im.gz"));
  std::vector<float> got(6);
  const std::vector<std::size_t> ok = {3}, short_ = {4};
  rows.read({ok.data(), 1}, got.data());
  CHECK_THAT(error_message<DataError>([&] { rows.read({short_.data(), 1}, got.data()); }),
             Contains("truncated: the data ends in image 4 of 9"));
}
