#include "engine/tabular.hpp"

#include <algorithm>
#include <cmath>

#include "core/errors.hpp"

namespace plangrad {
namespace {

std::string list(const std::vector<std::string>& names, std::size_t most = 12) {
  std::string s;
  for (std::size_t i = 0; i < names.size() && i < most; ++i) s += (i ? ", " : "") + names[i];
  return names.size() > most ? s + ", ... (" + std::to_string(names.size()) + ")" : s;
}

bool one_hot_rows(const std::vector<float>& v, std::size_t k) {
  if (k < 2) return false;
  for (std::size_t r = 0; r < v.size() / k; ++r) {
    std::size_t ones = 0;
    for (std::size_t c = 0; c < k; ++c) {
      const float x = v[r * k + c];
      if (x != 0.0f && x != 1.0f) return false;
      ones += x == 1.0f;
    }
    if (ones != 1) return false;
  }
  return true;
}

// Column means and standard deviations of rows x cols values, into the state tensors named
// by a standardize node's mean and std inputs.
void set_column_stats(Model& model, const Node& node, const float* v, std::size_t rows, std::size_t cols) {
  std::vector<float> mean(cols), sd(cols);
  for (std::size_t c = 0; c < cols; ++c) {
    double sum = 0;
    for (std::size_t r = 0; r < rows; ++r) sum += v[r * cols + c];
    const double m = sum / static_cast<double>(rows);
    double ss = 0;
    for (std::size_t r = 0; r < rows; ++r) ss += (v[r * cols + c] - m) * (v[r * cols + c] - m);
    const auto s = static_cast<float>(std::sqrt(ss / static_cast<double>(rows)));
    mean[c] = static_cast<float>(m);
    // A constant column (or one whose spread float cannot hold) is left unscaled.
    sd[c] = std::isnormal(s) ? s : 1.0f;
  }
  const auto n = static_cast<Dim>(cols);
  model.state_tensor(node.inputs[1]) = Tensor<float>({n}, mean);
  model.state_tensor(node.inputs[2]) = Tensor<float>({n}, sd);
}

const Node& node_named(const Graph& graph, const std::string& name) {
  for (const Node& node : graph.nodes)
    if (node.name == name) return node;
  throw UsageError("the graph has no node '" + name + "'");
}

}  // namespace

void fit_standardization(Model& model, const TaskRoles& roles, const TabularData& train) {
  if (roles.input_standardize.empty())
    throw UsageError("--standardize needs a standardize node on the model's input '" + roles.input +
                     "' (its mean and std as state), which the model has not; `plangrad new mlp` makes models "
                     "with one");
  if (train.size() == 0) throw UsageError("--standardize needs training rows");
  set_column_stats(model, node_named(model.graph, roles.input_standardize), train.features.data(), train.size(),
                   roles.features);
  if (!roles.target_standardize.empty() && !train.targets.empty())
    set_column_stats(model, node_named(model.graph, roles.target_standardize), train.targets.data(), train.size(),
                     roles.target_columns);
}

DataSchema make_schema(const CsvTable& train, const TaskRoles& roles, const std::vector<std::string>& targets,
                       const std::vector<std::string>& features) {
  if (targets.empty()) throw UsageError("name the target column(s): the values the model learns to predict");
  DataSchema s;
  s.task = task_name(roles.task);
  const std::vector<std::size_t> target_cols = train.columns(targets);
  s.targets = targets;
  if (features.empty()) {
    for (const std::size_t c : train.columns_except(targets)) s.features.push_back(train.header[c]);
  } else {
    for (const std::size_t c : train.columns(features))
      if (std::find(target_cols.begin(), target_cols.end(), c) != target_cols.end())
        throw DataError(train.where_header(c) + ": the column is both a target and a feature; a model cannot "
                        "be given the answer it is to predict");
    s.features = features;
  }
  if (s.features.size() != roles.features)
    throw UsageError("the model's input '" + roles.input + "' " + shape_str(roles.input_shape) + " takes " +
                     std::to_string(roles.features) + " values per example, and " + train.source + " has " +
                     std::to_string(s.features.size()) + " feature columns (" + list(s.features) + ")");
  const std::size_t want = roles.task == Task::Regression ? roles.target_columns : 1;
  if (targets.size() != want)
    throw UsageError("the model (" + std::string(task_name(roles.task)) + ", target '" + roles.target + "') takes " +
                     std::to_string(want) + " target column" + (want == 1 ? "" : "s") + ", got " +
                     std::to_string(targets.size()) + " (" + list(targets) + ")");
  if (roles.task == Task::Regression) return s;

  const std::size_t col = target_cols.front();
  ClassColumn labels = class_column(train, col);
  if (integer_labels(train, col)) {
    for (std::size_t r = 0; r < train.rows(); ++r)
      if (labels.indices[r] >= static_cast<float>(roles.classes))
        throw DataError(train.where(r, col) + ": label '" + std::string(train.cell(r, col)) +
                        "' is not a class of the model, whose '" + roles.logits + "' tells " +
                        std::to_string(roles.classes) + " classes apart (0 .. " + std::to_string(roles.classes - 1) + ")");
    for (std::size_t k = labels.names.size(); k < roles.classes; ++k) labels.names.push_back(std::to_string(k));
  } else if (labels.names.size() != roles.classes) {
    throw UsageError(train.source + ": the training rows' column '" + train.header[col] + "' has " +
                     std::to_string(labels.names.size()) + " classes (" + list(labels.names) + "), and the model's '" +
                     roles.logits + "' tells " + std::to_string(roles.classes) + " apart");
  }
  s.classes = std::move(labels.names);
  return s;
}

TabularData tabular_data(const CsvTable& table, const TaskRoles& roles, const DataSchema& schema, bool with_targets) {
  if (schema.features.size() != roles.features)
    throw UsageError("the data schema names " + std::to_string(schema.features.size()) + " feature columns; the model's input '" +
                     roles.input + "' takes " + std::to_string(roles.features));
  TabularData d;
  d.source = table.source;
  const auto n = static_cast<Dim>(table.rows());
  d.features = Tensor<float>({n, static_cast<Dim>(roles.features)}, numeric_columns(table, table.columns(schema.features)));
  if (!with_targets) return d;
  const std::vector<std::size_t> target_cols = table.columns(schema.targets);
  for (const std::size_t c : target_cols)
    if (std::find(schema.features.begin(), schema.features.end(), table.header[c]) != schema.features.end())
      throw DataError(table.where_header(c) + ": the column is both a target and a feature");
  if (roles.task == Task::Regression) {
    if (target_cols.size() != roles.target_columns)
      throw UsageError("the model takes " + std::to_string(roles.target_columns) + " target values per example, the "
                       "schema names " + std::to_string(target_cols.size()) + " target columns");
    std::vector<float> y = numeric_columns(table, target_cols);
    d.one_hot = one_hot_rows(y, target_cols.size());
    d.targets = Tensor<float>({n, static_cast<Dim>(target_cols.size())}, y);
    return d;
  }
  if (target_cols.size() != 1) throw UsageError("a classifier takes one target column");
  const ClassColumn labels = class_column(table, target_cols.front(), schema.classes);
  if (roles.task == Task::Binary) d.targets = Tensor<float>({n, 1}, labels.indices);
  else d.targets = Tensor<float>({n}, labels.indices);
  return d;
}

}  // namespace plangrad
