// The data of `plangrad train|eval|predict --data PATH`: an IDX folder (MNIST's file names,
// engine/eval_roles.hpp) or a CSV/TSV file (datasets/csv.hpp) whose columns fill the
// model's inputs (engine/tabular.hpp), with the data schema kept in the model file
// (serialization/data_schema.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/flags.hpp"
#include "core/model.hpp"
#include "engine/evaluate.hpp"
#include "engine/tabular.hpp"

namespace plangrad::cli {

// Whether --data names a table (a file, or a missing .csv/.tsv/.tab) rather than an IDX
// folder.
bool is_table_file(const std::string& path);

// The flags that choose a table's columns and rows.
struct TableFlags {
  std::vector<std::string> targets, features;  // --target, --features (comma-separated)
  std::string val;                             // --val FILE (train only)
  double split = 0;                            // --split FRACTION held out; 0: none
  bool standardize = false;                    // --standardize (train only)
  bool any() const { return !targets.empty() || !features.empty() || !val.empty() || split > 0 || standardize; }
};
// Reads --target and --features from `flags`.
void read_column_flags(Flags& flags, TableFlags& t);

// What a command feeds a model: the roles and the rows. For IDX data the storage holds
// the images and labels; for a table, the feature and target rows and the schema.
struct ModelData {
  ValueRoles roles;
  std::string model_line, data_line;  // what is printed before training or evaluating
  TabularData train, val;             // a table's rows (val empty: no validation)
  std::optional<DataSchema> schema;   // a table's
  std::size_t classes = 0;            // the classes the logits tell apart; 0 for a regression
};

// A table for training: the model's roles (engine/task_roles.hpp), the schema (the one the
// model file stores when no --target is given, else made from the training rows), the
// rows split by --split (seeded by `seed`) or validated on --val, features standardized
// into the model's standardize node with --standardize, and the first `limit` rows of
// each part (0: all).
ModelData table_training_data(Model& model, const nlohmann::json& training, const std::string& model_path,
                              const std::string& path, const TableFlags& flags, std::uint64_t seed, std::size_t limit);
// A table to evaluate (targets) or predict (no targets) on: the stored schema (--target and
// --features must then match it, else a UsageError), or one made from the flags for a
// model file that stores none. With `split` > 0, only the rows held out by --split at
// `seed` (the validation rows of the same train --split run).
ModelData table_eval_data(const Model& model, const nlohmann::json& training, const std::string& model_path,
                          const std::string& path, const TableFlags& flags, std::uint64_t seed, bool with_targets);

// The figures of an evaluation, one per line ("accuracy  0.9722 (35 of 36)"), and the
// same as members of a JSON object (the ones measured).
void print_metrics(const EvalResult& r);
void add_metrics(nlohmann::ordered_json& line, const EvalResult& r);

}  // namespace plangrad::cli
