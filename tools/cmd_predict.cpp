// plangrad predict MODEL.json --data FILE.csv [--out FILE]: a model's predictions for a
// table's rows, one CSV row each: the predicted class and the class probabilities for a
// classifier, the predicted values for a regression. The columns are the ones the model
// file stores (tools/table_data.hpp); predictions run through a Predictor
// (engine/predictor.hpp), Eval mode.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/flags.hpp"
#include "cli/output_paths.hpp"
#include "core/atomic_file.hpp"
#include "core/errors.hpp"
#include "engine/predictor.hpp"
#include "engine/task_roles.hpp"
#include "serialization/checkpoint_json.hpp"
#include "tools/commands.hpp"
#include "tools/table_data.hpp"

namespace plangrad::cli {
namespace {

const char* const kHelp =
    "usage: plangrad predict MODEL.json --data FILE.csv [--out FILE] [--batch 1000]\n"
    "                        [--features COL,...]\n"
    "Writes the model's predictions for every row of a table (CSV, or TSV for .tsv) as CSV, to\n"
    "--out (written whole or not at all) or standard output: a header row, then one row per\n"
    "data row, in order.\n"
    "  classification   the predicted class (by the name in the training data), then one\n"
    "                   probability per class: prob_NAME (softmax; one logit: sigmoid)\n"
    "  regression       the predicted value of each target column, in its units\n"
    "The feature columns are the ones the model file stores (`plangrad train --data FILE.csv`);\n"
    "the table may hold other columns, the targets among them, which are ignored. For a model\n"
    "that stores none, --features names them (classes are then named by index, predicted\n"
    "values after the model's target input: y, or y_0, y_1, ...).\n";

// A CSV field: quoted when it holds a comma, a quote or a line break.
std::string field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string number(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return buf;
}

}  // namespace

int cmd_predict(const Args& args) {
  Flags flags(args);
  if (flags.has("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string data_path = flags.get("--data", "");
  const std::string out = flags.get("--out", "");
  const auto batch = static_cast<std::size_t>(flags.get_int("--batch", 1000, 1, 1 << 24));
  TableFlags table;
  read_column_flags(flags, table);
  flags.finish();
  if (flags.positional().size() != 1)
    throw UsageError("expected one model file (plangrad predict MODEL.json --data FILE.csv), got " +
                     std::to_string(flags.positional().size()) + " arguments");
  if (data_path.empty()) throw UsageError("--data FILE.csv is required: the rows to predict");
  if (!is_table_file(data_path)) throw UsageError("--data " + data_path + " is a folder; predict reads a table (CSV)");
  if (!table.targets.empty()) throw UsageError("--target is not needed for predictions: the model predicts it");
  if (!out.empty()) check_output_file("--out", out, WriteMode::Replace);
  const std::string& path = flags.positional().front();

  const JsonModelDocument doc = load_json_model_document(path);
  const ModelData data = table_eval_data(doc.model, doc.training, path, data_path, table, 0, false);
  const TaskRoles roles = task_roles(doc.model.graph);
  const DataSchema& schema = *data.schema;
  const bool classifier = roles.task != Task::Regression;
  PredictorOptions po;
  po.input = roles.input;
  po.output = classifier ? roles.logits : roles.prediction;
  const Predictor predictor(doc.model, po);

  std::string text;
  if (classifier) {
    text = field(schema.targets.empty() ? "class" : schema.targets.front());
    for (const std::string& c : schema.classes) text += "," + field("prob_" + c);
  } else {
    for (std::size_t k = 0; k < roles.target_columns; ++k)
      text += (k ? "," : "") + field(k < schema.targets.size() ? schema.targets[k]
                                     : roles.target_columns == 1 ? roles.target
                                                                 : roles.target + "_" + std::to_string(k));
  }
  text += "\n";
  const std::size_t n = data.train.size(), width = predictor.input_size();
  const float* x = data.train.features.data();
  std::vector<float> values;
  std::vector<std::size_t> classes;
  for (std::size_t start = 0; start < n; start += batch) {
    const std::size_t m = std::min(batch, n - start);
    if (classifier) {
      values.resize(m * roles.columns);
      classes.resize(m);
      predictor.probabilities(x + start * width, m, values.data());
      predictor.classes(x + start * width, m, classes.data());
      for (std::size_t i = 0; i < m; ++i) {
        text += field(schema.classes.at(classes[i]));
        if (roles.columns == 1) text += "," + number(1.0f - values[i]) + "," + number(values[i]);
        else
          for (std::size_t c = 0; c < roles.columns; ++c) text += "," + number(values[i * roles.columns + c]);
        text += "\n";
      }
    } else {
      const std::size_t k = predictor.output_size();
      values.resize(m * k);
      predictor.predict(x + start * width, m, values.data());
      for (std::size_t i = 0; i < m; ++i) {
        for (std::size_t c = 0; c < k; ++c) text += (c ? "," : "") + number(values[i * k + c]);
        text += "\n";
      }
    }
  }
  if (!out.empty()) {
    write_file_atomically(out, text);
    std::fprintf(stderr, "plangrad predict: %zu predictions written to %s\n", n, out.c_str());
  } else if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
    throw DataError("cannot write the predictions to standard output");
  }
  return 0;
}

}  // namespace plangrad::cli
