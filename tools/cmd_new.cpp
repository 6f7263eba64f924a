// plangrad new mlp ... OUT.json: a ready-to-train model file for tabular data
// (networks/tabular.hpp), its inputs named as `plangrad train --data FILE.csv` fills them.
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
    "      --optimizer adam --split 0.2\n";

std::vector<Dim> widths(const std::string& text) {
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
      throw UsageError("--hidden takes widths separated by commas (64,32), each from 1 to 16777216; got '" + text +
                       "'");
    out.push_back(v);
    start = comma + 1;
  }
  return out;
}

}  // namespace

int cmd_new(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kHelp, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "mlp") throw UsageError("unknown kind of model '" + args[0] + "': `plangrad new mlp` makes an MLP");
  Flags flags(Args(args.begin() + 1, args.end()));
  if (flags.has("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  models::TabularMlp spec;
  spec.features = flags.get_int("--features", 0, 1, 1 << 24);
  spec.hidden = widths(flags.get("--hidden", ""));
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
  std::error_code ec;
  if (std::filesystem::exists(out, ec))
    throw UsageError(out + " exists; `plangrad new` does not replace a model file (remove it or name another)");
  check_output_file("OUT.json", out, WriteMode::Replace);
  const Model model = models::tabular_mlp(spec).build(seed);
  save_model(model, out);
  std::printf("wrote %s: %s MLP, %lld features", out.c_str(), task.c_str(), static_cast<long long>(spec.features));
  for (const Dim w : spec.hidden) std::printf(" -> %lld", static_cast<long long>(w));
  std::printf(" -> %lld, %zu parameters\n", static_cast<long long>(spec.task == Task::Binary ? 1 : spec.outputs),
              static_cast<std::size_t>(model.parameter_count()));
  return 0;
}

}  // namespace plangrad::cli
