// libFuzzer target: an IDX data file (plain or gzipped) from anyone. Reading it either
// gives images or labels or throws a plangrad::Error; a crash, a sanitizer report, another
// exception or an allocation past the data limit is a bug. Build and run with
// scripts/fuzz.sh.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/errors.hpp"
#include "core/limits.hpp"
#include "datasets/idx.hpp"

namespace {
int file = -1;         // an in-memory file the readers open by path
std::string path;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  file = memfd_create("fuzz-idx", 0);
  if (file < 0) __builtin_trap();
  path = "/proc/self/fd/" + std::to_string(file);
  plangrad::Limits l = plangrad::limits();
  l.data_bytes = 1 << 20;  // a header may claim more; the reader must refuse it, not allocate
  plangrad::set_limits(l);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (ftruncate(file, 0) != 0 || pwrite(file, data, size, 0) != static_cast<ssize_t>(size)) __builtin_trap();
  try {
    const plangrad::IdxImages images = plangrad::read_idx_images(path);
    if (images.pixels.size() != std::size_t{images.count} * images.rows * images.cols) __builtin_trap();
  } catch (const plangrad::Error&) {
  }
  try {
    plangrad::read_idx_labels(path, 10);
  } catch (const plangrad::Error&) {
  }
  return 0;
}
