#include "tools/table_data.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/errors.hpp"
#include "datasets/csv.hpp"
#include "engine/task_roles.hpp"
#include "serialization/data_schema.hpp"

namespace plangrad::cli {
namespace {

std::vector<std::string> column_list(const std::string& flag, const std::string& text) {
  if (text.empty()) return {};
  std::vector<std::string> names = split_commas(text);
  for (const std::string& name : names)
    if (name.empty()) throw UsageError(flag + " takes column names separated by commas, got '" + text + "'");
  return names;
}

std::string fraction(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}

// The first `limit` rows (0: all).
CsvTable first_rows(const CsvTable& t, std::size_t limit) {
  if (limit == 0 || limit >= t.rows()) return t;
  std::vector<std::size_t> rows(limit);
  for (std::size_t i = 0; i < limit; ++i) rows[i] = i;
  return t.subset(rows);
}

// One-hot regression targets (the circle MLP's) are scored as classes too: the prediction
// is also the logits.
void score_one_hot(ModelData& d, const TaskRoles& roles) {
  if (roles.task == Task::Regression && d.train.one_hot && (d.val.size() == 0 || d.val.one_hot)) {
    d.roles.logits = roles.prediction;
    d.classes = roles.columns;
  }
}

std::string model_line(const std::string& model_path, const TaskRoles& r) {
  std::string s = model_path + ": " + task_name(r.task) + ", features '" + r.input + "' " + shape_str(r.input_shape) +
                  ", target '" + r.target + "'";
  if (!r.logits.empty()) s += ", logits '" + r.logits + "' (" + std::to_string(r.classes) + " classes)";
  if (!r.prediction.empty()) s += ", prediction '" + r.prediction + "'";
  return s + ", loss '" + r.loss + "'";
}

void check_flags_match(const DataSchema& stored, const TableFlags& f, const std::string& model_path) {
  if (!f.targets.empty() && f.targets != stored.targets)
    throw UsageError("--target " + joined(f.targets) + " does not match the target column(s) " + model_path +
                     " was trained on: " + joined(stored.targets));
  if (!f.features.empty() && f.features != stored.features)
    throw UsageError("--features " + joined(f.features) + " does not match the feature columns " + model_path +
                     " was trained on: " + joined(stored.features));
}

}  // namespace

bool is_table_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return !std::filesystem::is_directory(path, ec);
  // A path that is not there is reported by the reader it names.
  const std::string ext = std::filesystem::path(path).extension().string();
  return ext == ".csv" || ext == ".tsv" || ext == ".tab";
}

void read_column_flags(Flags& flags, TableFlags& t) {
  t.targets = column_list("--target", flags.get("--target", ""));
  t.features = column_list("--features", flags.get("--features", ""));
}

ModelData table_training_data(Model& model, const nlohmann::json& training, const std::string& model_path,
                              const std::string& path, const TableFlags& f, std::uint64_t seed, std::size_t limit) {
  if (!f.val.empty() && f.split > 0) throw UsageError("--val and --split both choose validation rows; give one");
  const TaskRoles roles = task_roles(model.graph);
  const std::optional<DataSchema> stored = data_schema_from_training(training, model_path);
  CsvTable table = read_csv(path);
  CsvTable train, val;
  if (f.split > 0) {
    const RowSplit split = split_rows(table.rows(), f.split, seed);
    train = table.subset(split.kept);
    val = table.subset(split.held_out);
  } else {
    train = std::move(table);
    if (!f.val.empty()) val = read_csv(f.val);
  }
  train = first_rows(train, limit);
  val = first_rows(val, limit);

  ModelData d;
  if (f.targets.empty()) {
    if (!stored)
      throw UsageError("--target COLUMN is required: the column(s) " + model_path + " learns to predict");
    check_flags_match(*stored, f, model_path);
    d.schema = *stored;
  } else {
    d.schema = make_schema(train, roles, f.targets, f.features);
  }
  d.train = tabular_data(train, roles, *d.schema);
  if (val.rows() > 0) d.val = tabular_data(val, roles, *d.schema);
  if (f.standardize) fit_standardization(model, roles, d.train);
  d.roles = roles;
  d.classes = roles.classes;
  score_one_hot(d, roles);
  d.model_line = model_line(model_path, roles);
  d.data_line = path + ": " + std::to_string(d.train.size()) + " training rows" +
                (val.rows() ? ", " + std::to_string(d.val.size()) + " validation rows" +
                                  (f.split > 0 ? " (--split " + fraction(f.split) + ")"
                                               : " (" + f.val + ")")
                            : ", no validation") +
                "; " + std::to_string(d.schema->features.size()) + " features, target " + joined(d.schema->targets) +
                (f.standardize ? "; standardized" : "");
  return d;
}

ModelData table_eval_data(const Model& model, const nlohmann::json& training, const std::string& model_path,
                          const std::string& path, const TableFlags& f, std::uint64_t seed, bool with_targets) {
  const TaskRoles roles = task_roles(model.graph);
  const std::optional<DataSchema> stored = data_schema_from_training(training, model_path);
  CsvTable table = read_csv(path);
  if (f.split > 0) table = table.subset(split_rows(table.rows(), f.split, seed).held_out);
  ModelData d;
  if (stored) {
    check_flags_match(*stored, f, model_path);
    d.schema = *stored;
  } else if (!f.targets.empty()) {
    d.schema = make_schema(table, roles, f.targets, f.features);
  } else if (!with_targets && !f.features.empty()) {
    // Predictions need the features alone; the classes are then known by index only.
    DataSchema s;
    s.task = task_name(roles.task);
    s.features = f.features;
    for (std::size_t c = 0; c < roles.classes; ++c) s.classes.push_back(std::to_string(c));
    d.schema = s;
  } else {
    throw UsageError(model_path + " stores no data schema (it was not trained with --data FILE.csv): name the "
                     "columns with --target COLUMN [--features COL,...]" +
                     std::string(with_targets ? "" : ", or for predictions --features COL,..."));
  }
  d.train = tabular_data(table, roles, *d.schema, with_targets);
  d.roles = roles;
  d.classes = roles.classes;
  score_one_hot(d, roles);
  d.model_line = model_line(model_path, roles);
  d.data_line = path + ": " + std::to_string(d.train.size()) + " rows" +
                (f.split > 0 ? " (held out by --split " + fraction(f.split) + ")" : "") + "; " +
                std::to_string(d.schema->features.size()) + " features";
  return d;
}

void print_metrics(const EvalResult& r) {
  if (!std::isnan(r.accuracy)) std::printf("accuracy  %.4f (%zu of %zu)\n", r.accuracy, r.correct, r.count);
  if (!std::isnan(r.precision)) std::printf("precision %.4f\nrecall    %.4f\n", r.precision, r.recall);
  if (!std::isnan(r.auc)) std::printf("roc_auc   %.4f\n", r.auc);
  if (!std::isnan(r.rmse)) std::printf("rmse      %.6g\nmae       %.6g\nr2        %.4f\n", r.rmse, r.mae, r.r2);
  if (!std::isnan(r.loss)) std::printf("loss      %.6f (mean over the examples)\n", r.loss);
}

void add_metrics(nlohmann::ordered_json& line, const EvalResult& r) {
  line["count"] = r.count;
  const std::pair<const char*, double> figures[] = {{"accuracy", r.accuracy}, {"precision", r.precision},
                                                    {"recall", r.recall},     {"roc_auc", r.auc},
                                                    {"rmse", r.rmse},         {"mae", r.mae},
                                                    {"r2", r.r2},             {"loss", r.loss}};
  if (!std::isnan(r.accuracy)) line["correct"] = r.correct;
  for (const auto& [name, v] : figures)
    if (!std::isnan(v)) line[name] = v;
}

}  // namespace plangrad::cli
