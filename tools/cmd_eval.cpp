// plangrad eval MODEL.json --data DIR|FILE.csv: a classifier's accuracy and mean loss on an
// IDX data set (MNIST's file names), or any model's figures on a table's rows
// (tools/table_data.hpp), through inference plans in Eval mode. A thin wrapper over
// plangrad::evaluate (engine/evaluate.hpp) with the value conventions of
// engine/eval_roles.hpp.
#include <chrono>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "datasets/idx.hpp"
#include "core/errors.hpp"
#include "engine/eval_roles.hpp"
#include "engine/evaluate.hpp"
#include "cli/flags.hpp"
#include "serialization/model_json.hpp"
#include "serialization/checkpoint_json.hpp"
#include "tools/commands.hpp"
#include "tools/table_data.hpp"

namespace plangrad::cli {
namespace {

int eval_table(const std::string& path, const std::string& data_path, const std::string& split, std::uint64_t seed,
               TableFlags table, std::int64_t batch) {
  if (split != "test") {
    std::size_t used = 0;
    try {
      table.split = std::stod(split, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != split.size() || !(table.split > 0.0 && table.split < 1.0))
      throw UsageError("--split takes, for a table, the fraction of its rows that `plangrad train --split` held "
                       "out, between 0 and 1 (exclusive); got '" + split + "'");
  }
  const JsonModelDocument doc = load_json_model_document(path);
  const ModelData data = table_eval_data(doc.model, doc.training, path, data_path, table, seed, true);
  const auto start = std::chrono::steady_clock::now();
  const EvalResult r = evaluate(doc.model, data.roles, data.train.view(), static_cast<std::size_t>(batch));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("model     %s\n", data.model_line.c_str());
  std::printf("data      %s\n", data.data_line.c_str());
  print_metrics(r);
  std::printf("time      %.3f s in batches of %lld\n", seconds, static_cast<long long>(batch));
  nlohmann::ordered_json line{{"command", "eval"}, {"model", path}, {"data", data_path}};
  if (table.split > 0) {
    line["split"] = table.split;
    line["seed"] = seed;
  }
  add_metrics(line, r);
  line["batch"] = batch;
  line["seconds"] = seconds;
  std::printf("%s\n", line.dump().c_str());
  return 0;
}

}  // namespace

int cmd_eval(const Args& args) {
  Flags flags(args);
  if (flags.has("--help")) {
    std::printf(
        "usage: plangrad eval MODEL.json --data DIR [--split test|train] [--batch 1000]\n"
        "Evaluates a classifier on an IDX data set: DIR holds t10k-images-idx3-ubyte and\n"
        "t10k-labels-idx1-ubyte (--split test, the default) or train-images-idx3-ubyte and\n"
        "train-labels-idx1-ubyte (--split train), each plain or .gz. Runs inference plans in Eval\n"
        "mode (batchnorm uses its running statistics) over the set, --batch images at a time, and\n"
        "prints the accuracy and the mean loss, then the same as one JSON line.\n"
        "The model must follow these conventions (N is the symbolic batch, \"N\" in the file):\n"
        "  images  the one input [N, rows*cols] or [N, 1, rows, cols], pixels scaled to [0, 1]\n"
        "  labels  the one input [N]: class indices, checked against the logits' classes\n"
        "  loss    the graph's first scalar output (else its only softmax_cross_entropy node)\n"
        "  logits  [N, classes]: the softmax_cross_entropy input of the loss, or else the graph's\n"
        "          one non-scalar output; the prediction is the argmax (the first, on ties),\n"
        "          or for one logit [N, 1] (binary cross-entropy) class 1 when it is positive\n"
        "\n"
        "usage: plangrad eval MODEL.json --data FILE.csv [--split FRACTION --seed S]\n"
        "                     [--target COL[,COL...] [--features COL,...]] [--batch 1000]\n"
        "Evaluates a model on a table's rows (CSV, or TSV for .tsv), read by the columns the model\n"
        "file stores (`plangrad train --data FILE.csv` stores them; --target and --features must\n"
        "match them, and name them for a model that stores none). --split F --seed S evaluates\n"
        "only the rows that `plangrad train --split F --seed S` held out. The task is read from the\n"
        "loss: a classifier reports accuracy (one logit: precision, recall and ROC AUC too), a\n"
        "regression RMSE, MAE and R-squared in the target's units; then the mean loss.\n");
    return 0;
  }
  const std::string dir = flags.get("--data", "");
  const std::string split = flags.get("--split", "test");
  const auto batch = flags.get_int("--batch", 1000, 1, 1 << 24);
  const std::int64_t seed_flag = flags.get_int("--seed", -1, 0, INT64_MAX);  // -1: not given
  const bool seed_given = seed_flag >= 0;
  const auto seed = static_cast<std::uint64_t>(seed_given ? seed_flag : 1);
  TableFlags table;
  read_column_flags(flags, table);
  flags.finish();
  if (flags.positional().size() != 1)
    throw UsageError("expected one model file (plangrad eval MODEL.json --data DIR), got " +
                     std::to_string(flags.positional().size()) + " arguments");
  if (dir.empty()) throw UsageError("--data DIR|FILE.csv is required: the directory holding the IDX files, or a table");
  if (is_table_file(dir)) return eval_table(flags.positional().front(), dir, split, seed, table, batch);
  if (seed_given || table.any())
    throw UsageError("--seed, --target and --features are for a table (--data FILE.csv); " + dir +
                     " is a folder of IDX files");
  if (split != "test" && split != "train") throw UsageError("--split must be test or train, got '" + split + "'");
  const std::string& path = flags.positional().front();

  const Model model = load_model(path);
  const EvalRoles roles = eval_roles(model.graph);
  const ImageSet data = load_image_set(dir, split == "test" ? Split::Test : Split::Train, roles);

  const auto start = std::chrono::steady_clock::now();
  const EvalResult r =
      evaluate(model, roles, {data.images.data(), data.labels.data(), data.size()}, static_cast<std::size_t>(batch));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("model     %s: images '%s' %s, labels '%s', logits '%s' (%zu classes), loss '%s'\n", path.c_str(),
              roles.input.c_str(), shape_str(roles.input_shape).c_str(), roles.target.c_str(), roles.logits.c_str(),
              roles.classes, roles.loss.c_str());
  std::printf("data      %s, %s split: %zu images of %zux%zu\n", dir.c_str(), split.c_str(), data.size(), data.rows,
              data.cols);
  std::printf("accuracy  %.4f (%zu of %zu)\n", r.accuracy, r.correct, r.count);
  std::printf("loss      %.6f (mean over the images)\n", r.loss);
  std::printf("time      %.3f s in batches of %lld\n", seconds, static_cast<long long>(batch));
  nlohmann::ordered_json line{{"command", "eval"}, {"model", path},      {"data", dir},
                              {"split", split},    {"count", r.count},   {"correct", r.correct},
                              {"accuracy", r.accuracy}, {"loss", r.loss}, {"batch", batch},
                              {"seconds", seconds}};
  std::printf("%s\n", line.dump().c_str());
  return 0;
}

}  // namespace plangrad::cli
