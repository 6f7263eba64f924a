// Regression on real data: the diabetes data set (442 patients, 10 measurements, disease
// progression a year later; scikit-learn's copy, written to data/diabetes.csv by
// scripts/prepare_data.sh). A fixed train/test split by seed (datasets/csv.hpp:
// split_rows), features and target standardized on the training rows (the model's
// standardize nodes, so the saved model takes raw measurements and predicts in the
// target's units), an MLP 10-64-32-1 with ReLU and PyTorch's default initialization, MSE,
// Adam, a fresh shuffle per epoch. Prints the test RMSE, MAE and R² in the target's units.
// scripts/torch_tabular.py trains the same recipe in PyTorch on the same split.
//
//   regression [--data data/diabetes.csv] [--target progression] [--test 0.2] [--seed 1]
//              [--epochs 30] [--batch 32] [--lr 0.001] [--hidden 64,32] [--save FILE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/flags.hpp"
#include "cli/output_paths.hpp"
#include "core/errors.hpp"
#include "datasets/csv.hpp"
#include "engine/evaluate.hpp"
#include "engine/fit.hpp"
#include "engine/optimizer.hpp"
#include "engine/tabular.hpp"
#include "engine/task_roles.hpp"
#include "networks/tabular.hpp"
#include "serialization/model_json.hpp"

using namespace plangrad;

namespace {

// The usage line, for --help and after a usage error.
const char* const kUsage =
    "usage: regression [--data data/diabetes.csv] [--target progression] [--test 0.2] [--seed 1]\n"
    "                  [--epochs 30] [--batch 32] [--lr 0.001] [--hidden 64,32] [--save FILE]\n";

std::vector<Dim> widths(const std::string& text) {
  std::vector<Dim> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string part = text.substr(start, comma - start);
    std::size_t used = 0;
    const long long v = part.empty() ? 0 : std::stoll(part, &used);
    if (used != part.size() || v < 1) throw UsageError("--hidden takes widths separated by commas, got '" + text + "'");
    out.push_back(v);
    start = comma + 1;
  }
  return out;
}

int run(int argc, char** argv) {
  Flags flags(argc, argv);
  if (flags.has("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string data = flags.get("--data", "data/diabetes.csv");
  const std::string target = flags.get("--target", "progression");
  const double test = flags.get_double("--test", 0.2, 1e-6, 1 - 1e-6);
  const auto seed = static_cast<std::uint64_t>(flags.get_int("--seed", 1, 0, INT64_MAX));
  const auto epochs = flags.get_int("--epochs", 30, 1, 1000000);
  const auto batch = static_cast<std::size_t>(flags.get_int("--batch", 32, 1, 1 << 24));
  const double lr = flags.get_double("--lr", 0.001, 1e-12, 1e6);
  const std::string hidden = flags.get("--hidden", "64,32");
  const std::string save = flags.get("--save", "");
  flags.finish();
  if (!save.empty()) check_output_file("--save", save, WriteMode::Replace);

  const CsvTable table = read_csv(data);
  const RowSplit split = split_rows(table.rows(), test, seed);
  const CsvTable train_rows = table.subset(split.kept), test_rows = table.subset(split.held_out);

  models::TabularMlp spec;
  spec.features = static_cast<Dim>(table.cols() - 1);
  spec.hidden = widths(hidden);
  spec.task = Task::Regression;
  spec.outputs = 1;
  Model model = models::tabular_mlp(spec).build(seed);
  const TaskRoles roles = task_roles(model.graph);
  const DataSchema schema = make_schema(train_rows, roles, {target}, {});
  const TabularData train = tabular_data(train_rows, roles, schema), held = tabular_data(test_rows, roles, schema);
  fit_standardization(model, roles, train);

  Adam<float> adam(model, [&] {
    AdamOptions o;  // PyTorch's defaults otherwise
    o.lr = lr;
    return o;
  }());
  FitOptions options;
  options.epochs = epochs;
  options.batch = batch;
  options.seed = seed;
  options.progress = Progress::Off;
  // No validation set: the test rows are scored once, after training.
  const auto start = std::chrono::steady_clock::now();
  fit(model, adam, roles, train.view(), {}, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const EvalResult r = evaluate(model, roles, held.view(), held.size());
  if (!save.empty()) save_model(model, save);

  std::size_t first = split.held_out.front(), sum = 0;
  for (const std::size_t i : split.held_out) sum += i;
  std::printf("regression %s: %zu training rows, %zu test rows; test RMSE %.4f, MAE %.4f, R2 %.4f\n", data.c_str(),
              train.size(), held.size(), r.rmse, r.mae, r.r2);
  const nlohmann::ordered_json line{{"example", "regression"}, {"seed", seed},  {"epochs", epochs},
                                    {"test_rmse", r.rmse},     {"test_mae", r.mae}, {"test_r2", r.r2},
                                    {"test_rows", held.size()}, {"first_test_row", first}, {"test_row_sum", sum},
                                    {"train_seconds", seconds}};
  std::printf("%s\n", line.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "regression: %s\n%s", e.what(), kUsage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "regression: %s\n", e.what());
    return 1;
  }
}
