// A tabular model's data schema (engine/tabular.hpp: DataSchema) in its model file: the
// "data" member of the document's "training" object, so that `plangrad eval` and
// `plangrad predict` read the columns `plangrad train --data FILE.csv` trained on:
//   "training": {"data": {"task": "classification", "features": ["alcohol", ...],
//                         "targets": ["class"], "classes": ["0", "1", "2"]}, ...}
// Not a public header: it includes nlohmann/json.hpp.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/tabular.hpp"

namespace plangrad {

nlohmann::json data_schema_to_json(const DataSchema& schema);
// The schema in a "training" object (null: none); nothing when it has no "data" member.
// A FormatError "<source>: /training/data/...: ..." when the member is malformed.
std::optional<DataSchema> data_schema_from_training(const nlohmann::json& training, const std::string& source);
// Sets training["data"] (a null `training` becomes an object).
void set_data_schema(nlohmann::json& training, const DataSchema& schema);

}  // namespace plangrad
