// Files that are not what they claim to be: a FIFO or a device named as a data file is
// refused at once (reading one would block or never end), and no file is read past its
// limit.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "core/errors.hpp"
#include "core/file_io.hpp"
#include "core/limits.hpp"
#include "datasets/idx.hpp"
#include "tests/error_message.hpp"
#include "tests/temp_dir.hpp"

using namespace plangrad;
using plangrad::testing::error_message;
using Catch::Matchers::Contains;


TEST_CASE("a FIFO given as a data file is refused without blocking", "[files]") {
  testing::TempDir dir;
  const std::string fifo = dir.file("images-fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THAT(error_message<DataError>([&] { read_idx_images(fifo); }), Contains(fifo) && Contains("not a regular file"));
  CHECK_THAT(error_message<DataError>([&] { read_regular_file(fifo, "model file", 1000, "model-file-bytes"); }),
             Contains("model file") && Contains("not a regular file"));
}

TEST_CASE("a device given as a data file is refused", "[files]") {
  CHECK_THAT(error_message<DataError>([] { read_idx_labels("/dev/zero"); }), Contains("/dev/zero") && Contains("not a regular file"));
  CHECK_THAT(error_message<DataError>([] { read_regular_file("/dev/urandom", "model file", 1000, "model-file-bytes"); }),
             Contains("not a regular file"));
}

TEST_CASE("a file past its size limit is refused before it is read", "[files][limits]") {
  testing::TempDir dir;
  const std::string path = dir.file("big.json");
  std::ofstream(path) << std::string(5000, ' ');
  CHECK_THAT(error_message<DataError>([&] { read_regular_file(path, "model file", 4999, "model-file-bytes"); }),
             Contains("5000 bytes") && Contains("--limit model-file-bytes="));
  CHECK(read_regular_file(path, "model file", 5000, "model-file-bytes").size() == 5000);
  CHECK_THAT(error_message<DataError>([&] { read_regular_file(dir.file("none"), "model file", 10, "model-file-bytes"); }),
             Contains("No such file"));
}
