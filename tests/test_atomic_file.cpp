// write_file_atomically (core/atomic_file.hpp): the target is the old file or the whole new
// one; a failure leaves the target as it was and no temporary file behind, and its
// DataError names the path and the step that failed.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "core/atomic_file.hpp"
#include "core/errors.hpp"
#include "tests/error_message.hpp"
#include "tests/temp_dir.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

namespace fs = std::filesystem;


std::size_t entries(const TempDir& dir) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()));
}

}  // namespace

TEST_CASE("atomic file: writes the parts in order and replaces the file", "[atomic_file]") {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  write_file_atomically(path, "first");
  CHECK(read_text(path) == "first");
  const std::string binary("\0\1\2", 3);
  write_file_atomically(path, {std::string_view("head:"), std::string_view(), binary, std::string_view(":tail")});
  CHECK(read_text(path) == "head:" + binary + ":tail");
  write_file_atomically(path, std::string_view());
  CHECK(fs::file_size(path) == 0);
  CHECK(entries(dir) == 1);
}

TEST_CASE("atomic file: a new file gets mode 0666 less the umask", "[atomic_file]") {
  TempDir dir;
  for (const mode_t mask : {mode_t{022}, mode_t{077}, mode_t{002}}) {
    INFO("umask " << std::oct << mask);
    const mode_t old = ::umask(mask);
    write_file_atomically(dir.file("m"), "x");
    ::umask(old);
    struct stat st {};
    REQUIRE(::stat(dir.file("m").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == (0666 & ~mask));
  }
}

TEST_CASE("atomic file: a failure leaves the target as it was and no temporary file", "[atomic_file]") {
  TempDir dir;
  const std::string target = dir.file("keep.txt");
  write_file_atomically(target, "old");
  std::size_t expected_entries = 1;

  SECTION("the directory is missing") {
    const std::string missing = dir.file("no/such/dir/f");
    CHECK_THAT(error_message<DataError>([&] { write_file_atomically(missing, "new"); }),
               Contains(missing + ": cannot write: cannot open the directory"));
    CHECK_FALSE(fs::exists(dir.path() / "no"));
  }
  SECTION("the directory is not writable") {
    if (::geteuid() == 0) {
      // Permissions do not bind root: /proc is a directory where no one can create a file.
      CHECK_THAT(error_message<DataError>([&] { write_file_atomically("/proc/plangrad-atomic-test", "new"); }),
                 Contains("/proc/plangrad-atomic-test: cannot write: cannot create a temporary file in '/proc'"));
    } else {
      fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec);
      const std::string message = error_message<DataError>([&] { write_file_atomically(target, "new"); });
      fs::permissions(dir.path(), fs::perms::owner_all);
      CHECK_THAT(message, Contains(target + ": cannot write: cannot create a temporary file"));
    }
  }
  SECTION("the target is a non-empty directory: the rename fails") {
    fs::create_directories(dir.path() / "taken" / "inside");
    ++expected_entries;
    CHECK_THAT(error_message<DataError>([&] { write_file_atomically(dir.file("taken"), "new"); }),
               Contains(dir.file("taken") + ": cannot write: rename"));
    CHECK(fs::is_directory(dir.path() / "taken" / "inside"));
  }
  SECTION("a write fails") {
    // Past RLIMIT_FSIZE write(2) fails with EFBIG (and raises SIGXFSZ, ignored here), for
    // root too.
    struct rlimit old {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    struct rlimit small = old;
    small.rlim_cur = 4096;
    const auto handler = std::signal(SIGXFSZ, SIG_IGN);
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    const std::string message = error_message<DataError>([&] { write_file_atomically(target, std::string(100000, 'x')); });
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, handler);
    CHECK_THAT(message, Contains(target + ": cannot write: write to") && Contains("File too large"));
  }
  SECTION("the path names no file") {
    CHECK_THAT(error_message<DataError>([&] { write_file_atomically(dir.path().string() + "/", "new"); }),
               Contains("not a file name"));
  }
  CHECK(read_text(target) == "old");
  CHECK(entries(dir) == expected_entries);
}

TEST_CASE("atomic file: a killed writer's temporary file goes at the next save", "[atomic_file]") {
  TempDir dir;
  const std::string target = dir.file("model.json");
  // A child that exits at once: its id is then a process that no longer exists.
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  REQUIRE(gone > 0);
  int status = 0;
  REQUIRE(::waitpid(gone, &status, 0) == gone);
  const std::string stale = dir.file(".model.json.tmp-" + std::to_string(gone) + "-0-1f");
  const std::string live = dir.file(".model.json.tmp-" + std::to_string(::getpid()) + "-7-2f");
  const std::string other = dir.file(".other.json.tmp-" + std::to_string(gone) + "-0-1f");
  for (const std::string& f : {stale, live, other}) std::ofstream(f) << "partial";
  write_file_atomically(target, "new");
  CHECK(read_text(target) == "new");
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(live));   // a writer still running: not ours to remove
  CHECK(fs::exists(other));  // another target's
}
