// A table's columns bound to a model's roles (engine/task_roles.hpp): the feature columns
// fill the features input [N, F], the target columns the target -- class indices [N] for a
// classifier (labels mapped through the model's class names), the 0/1 label [N, 1] for a
// binary one, K values [N, K] for a regression (or one-hot rows, as the circle MLP takes).
//
//   const TaskRoles roles = task_roles(model.graph);
//   CsvTable table = read_csv("wine.csv");
//   RowSplit split = split_rows(table.rows(), 0.2, seed);                  // datasets/csv.hpp
//   CsvTable train = table.subset(split.kept), val = table.subset(split.held_out);
//   DataSchema schema = make_schema(train, roles, {"class"}, {});         // all other columns
//   TabularData x = tabular_data(train, roles, schema), v = tabular_data(val, roles, schema);
//   fit(model, adam, roles, x.view(), v.view(), options);
//
// The schema goes into the model file (serialization/data_schema.hpp), so that eval and
// predict read the same columns and name the same classes.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/tensor_storage.hpp"
#include "datasets/csv.hpp"
#include "engine/evaluate.hpp"
#include "engine/task_roles.hpp"

namespace plangrad {

// What a model trained on a table knows of it.
struct DataSchema {
  std::string task;                   // task_name(): "classification", "binary", "regression"
  std::vector<std::string> features;  // the feature columns, in the input's order
  std::vector<std::string> targets;   // the target columns
  std::vector<std::string> classes;   // classifiers: class index -> label; empty for regression
  bool operator==(const DataSchema& o) const {
    return task == o.task && features == o.features && targets == o.targets && classes == o.classes;
  }
};

// The schema of a model trained on `train`: the target columns (one for a classifier, K for
// a regression), the feature columns (empty: every column but the targets, in file order),
// and a classifier's classes from the training rows (datasets/csv.hpp: class_column;
// integer labels are class indices, named "0" .. "C-1"; other labels sorted, and there must
// be as many as the model's classes). An unknown column, a column that is both a target
// and a feature, or an integer label past the model's classes is a DataError naming the
// file, the line and the column; counts that do not fit the model's input, target or
// classes are a UsageError saying what the model takes.
DataSchema make_schema(const CsvTable& train, const TaskRoles& roles, const std::vector<std::string>& targets,
                       const std::vector<std::string>& features);

// A table's rows as a model takes them: features [n, F] and targets [n, K] (class indices
// [n] for a classifier, a label not among schema.classes a DataError naming the file, the
// line and the column). Without targets (`with_targets` false: predictions), only the
// feature columns need be there.
struct TabularData {
  Tensor<float> features;
  Tensor<float> targets;  // empty without targets
  std::string source;
  // Regression targets that are one-hot rows (every value 0 or 1, one 1 per row, K >= 2):
  // the prediction's argmax can be scored as a class too.
  bool one_hot = false;

  std::size_t size() const { return features.empty() ? 0 : static_cast<std::size_t>(features.dim(0)); }
  DataView view() const { return {features.data(), targets.empty() ? nullptr : targets.data(), size(), source}; }
};
TabularData tabular_data(const CsvTable& table, const TaskRoles& roles, const DataSchema& schema,
                         bool with_targets = true);

// Feature scaling carried by the model: sets the state of the model's standardize nodes
// (TaskRoles::input_standardize, and for a regression target_standardize) to each column's
// mean and standard deviation over `train` (the population's, as scikit-learn's
// StandardScaler; a constant column gets std 1), in double, stored as float. A model
// without a standardize node on its input is a UsageError saying how to make one.
void fit_standardization(Model& model, const TaskRoles& roles, const TabularData& train);

}  // namespace plangrad
