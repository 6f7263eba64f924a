// plangrad new mlp|cnn ... OUT.json: a ready-to-train model file (networks/tabular.hpp): an
// MLP for tabular data, its inputs named as `plangrad train --data FILE.csv` fills them, or
// a CNN for images, following `plangrad train --data DIR`'s conventions.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/flags.hpp"
#include "cli/output_paths.hpp"
#include "core/errors.hpp"
#include "networks/tabular.hpp"
#include "serialization/model_json.hpp"
#include "tools/commands.hpp"

namespace plangrad::cli {
namespace {

const char* const kHelp =
    "usage: plangrad new mlp --features F [--hidden W,W,...] [--activation relu|tanh|sigmoid]\n"
    "                        [--batchnorm] [--seed 1] TASK OUT.json\n"
    "  TASK: --task classification --classes K | --task binary | --task regression [--targets K]\n"
    "Writes a new model file: an MLP on F feature columns, ready for `plangrad train --data\n"
    "FILE.csv --target ...`. Its input 'x' [N, F] goes through a standardize node first (the\n"
    "identity until `train --standardize` fits it), then dense layers of the --hidden widths\n"
    "(default none: a linear model), each followed by batchnorm (--batchnorm) and the\n"
    "activation (default relu), then the task's head:\n"
    "  classification  'logits' [N, K], softmax cross-entropy against class labels\n"
    "  binary          one logit [N, 1], binary cross-entropy against a 0/1 label (threshold 0)\n"
    "  regression      K values (default 1), MSE on standardized targets; the prediction is in\n"
    "                  the target's units\n"
    "Parameters are initialized as PyTorch's defaults, from --seed. OUT.json must not exist.\n"
    "\n"
    "examples:\n"
    "  plangrad new mlp --features 13 --hidden 32 --task classification --classes 3 wine.json\n"
    "  plangrad train wine.json --data wine.csv --target class --split 0.2 --standardize\n"
    "\n"
    "  plangrad new mlp --features 30 --hidden 16 --task binary cancer.json\n"
    "  plangrad train cancer.json --data breast_cancer.csv --target label --split 0.2 --standardize\n"
    "\n"
    "  plangrad new mlp --features 10 --hidden 64,32 --task regression --targets 1 diabetes.json\n"
    "  plangrad train diabetes.json --data diabetes.csv --target progression --standardize \\\n"
    "      --optimizer adam --split 0.2\n"
    "\n"
    "usage: plangrad new cnn --image CxHxW --classes K [--channels W,W,...] [--batchnorm]\n"
    "                        [--seed 1] OUT.json\n"
    "Writes a new CNN for C x H x W images: input 'x' [N, C, H, W], then per --channels width\n"
    "(default 16,32) a 3x3 convolution (padding 1), batchnorm (--batchnorm), ReLU and 2x2\n"
    "max-pooling; flatten; dense 'logits' [N, K]; softmax cross-entropy against 'labels' [N].\n"
    "It trains on IDX images (`plangrad train --data DIR`, C = 1) or on a table of C*H*W pixel\n"
    "columns.\n"
    "\n"
    "example:\n"
    "  plangrad new cnn --image 1x28x28 --classes 10 --batchnorm mnist-cnn.json\n"
    "  plangrad train mnist-cnn.json --data data/mnist --optimizer adam --epochs 2 --batch 128\n";

std::vector<Dim> widths(const std::string& flag, const std::string& text) {
  std::vector<Dim> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string part = text.substr(start, comma - start);
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size() || v < 1 || v > (1 << 24))
      throw UsageError(flag + " takes widths separated by commas (64,32), each from 1 to 16777216; got '" + text +
                       "'");
    out.push_back(v);
    start = comma + 1;
  }
  return out;
}

// OUT.json: a file that does not exist yet, in a folder that takes one.
void check_new_file(const std::string& out) {
  std::error_code ec;
  if (std::filesystem::exists(out, ec))
    throw UsageError(out + " exists; `plangrad new` does not replace a model file (remove it or name another)");
  check_output_file("OUT.json", out, WriteMode::Replace);
}

// "1x28x28": channels, height, width.
models::ImageCnn image_dims(const std::string& text) {
  models::ImageCnn spec;
  Dim d[3] = {0, 0, 0};
  std::size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    const std::size_t x = i < 2 ? text.find('x', start) : text.size();
    const std::string part = text.substr(start, x == std::string::npos ? std::string::npos : x - start);
    std::size_t used = 0;
    try {
      d[i] = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (x == std::string::npos || used == 0 || used != part.size() || d[i] < 1 || d[i] > (1 << 16))
      throw UsageError("--image takes CxHxW (channels, height, width: 1x28x28), got '" + text + "'");
    start = x + 1;
  }
  spec.channels = d[0];
  spec.height = d[1];
  spec.width = d[2];
  return spec;
}

int new_cnn(Flags& flags) {
  const std::string image = flags.get("--image", "");
  const std::string channels = flags.get("--channels", "16,32");
  const bool batchnorm = flags.has("--batchnorm");
  const std::int64_t classes = flags.get_int("--classes", 0, 2, 1 << 24);
  const auto seed = static_cast<std::uint64_t>(flags.get_int("--seed", 1, 0, INT64_MAX));
  flags.finish();
  if (flags.positional().size() != 1)
    throw UsageError("expected one output file (plangrad new cnn ... OUT.json), got " +
                     std::to_string(flags.positional().size()) + " arguments");
  if (image.empty()) throw UsageError("--image CxHxW is required: the images' channels, height and width");
  if (classes == 0) throw UsageError("--classes K is required: the number of classes");
  models::ImageCnn spec = image_dims(image);
  spec.widths = widths("--channels", channels);
  spec.batchnorm = batchnorm;
  spec.classes = classes;
  const std::string& out = flags.positional().front();
  check_new_file(out);
  const Model model = models::image_cnn(spec).build(seed);
  save_model(model, out);
  std::printf("wrote %s: CNN for %s images", out.c_str(), image.c_str());
  for (const Dim w : spec.widths) std::printf(" -> %lld channels", static_cast<long long>(w));
  std::printf(" -> %lld classes, %zu parameters\n", static_cast<long long>(classes), model.parameter_count());
  return 0;
}

}  // namespace

int cmd_new(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kHelp, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "mlp" && args[0] != "cnn")
    throw UsageError("unknown kind of model '" + args[0] + "': `plangrad new mlp` makes an MLP, `new cnn` a CNN");
  Flags flags(Args(args.begin() + 1, args.end()));
  if (flags.has("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (args[0] == "cnn") return new_cnn(flags);
  models::TabularMlp spec;
  spec.features = flags.get_int("--features", 0, 1, 1 << 24);
  spec.hidden = widths("--hidden", flags.get("--hidden", ""));
  spec.activation = flags.get("--activation", "relu");
  spec.batchnorm = flags.has("--batchnorm");
  const std::string task = flags.get("--task", "");
  const std::int64_t classes = flags.get_int("--classes", 0, 2, 1 << 24);
  const std::int64_t targets = flags.get_int("--targets", 0, 1, 1 << 24);
  const auto seed = static_cast<std::uint64_t>(flags.get_int("--seed", 1, 0, INT64_MAX));
  flags.finish();
  if (flags.positional().size() != 1)
    throw UsageError("expected one output file (plangrad new mlp ... OUT.json), got " +
                     std::to_string(flags.positional().size()) + " arguments");
  if (spec.features == 0) throw UsageError("--features F is required: the number of feature columns");
  if (task == "classification") {
    if (classes == 0) throw UsageError("--task classification needs --classes K, the number of classes");
    spec.task = Task::Classification;
    spec.outputs = classes;
  } else if (task == "binary") {
    if (classes != 0) throw UsageError("--task binary tells two classes apart with one logit; --classes is not for it");
    spec.task = Task::Binary;
  } else if (task == "regression") {
    spec.task = Task::Regression;
    spec.outputs = targets == 0 ? 1 : targets;
  } else {
    throw UsageError("--task must be classification, binary or regression, got '" + task + "'");
  }
  if (targets != 0 && spec.task != Task::Regression) throw UsageError("--targets is for --task regression");
  if (classes != 0 && spec.task == Task::Regression) throw UsageError("--classes is for --task classification");

  const std::string& out = flags.positional().front();
  check_new_file(out);
  const Model model = models::tabular_mlp(spec).build(seed);
  save_model(model, out);
  std::printf("wrote %s: %s MLP, %lld features", out.c_str(), task.c_str(), static_cast<long long>(spec.features));
  for (const Dim w : spec.hidden) std::printf(" -> %lld", static_cast<long long>(w));
  std::printf(" -> %lld, %zu parameters\n", static_cast<long long>(spec.task == Task::Binary ? 1 : spec.outputs),
              static_cast<std::size_t>(model.parameter_count()));
  return 0;
}

}  // namespace plangrad::cli
