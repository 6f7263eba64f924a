#include "serialization/data_schema.hpp"

#include "serialization/json_reader.hpp"

namespace plangrad {
namespace {

std::vector<std::string> strings(const JsonReader& r) {
  r.array();
  std::vector<std::string> out;
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back(r.element(i).string());
  return out;
}

}  // namespace

nlohmann::json data_schema_to_json(const DataSchema& schema) {
  nlohmann::json j = {{"task", schema.task}, {"features", schema.features}, {"targets", schema.targets}};
  if (!schema.classes.empty()) j["classes"] = schema.classes;
  return j;
}

std::optional<DataSchema> data_schema_from_training(const nlohmann::json& training, const std::string& source) {
  if (!training.is_object() || !training.contains("data")) return std::nullopt;
  const JsonReader r(training.at("data"), source, "/training/data");
  r.object();
  r.only_keys({"task", "features", "targets", "classes"});
  DataSchema s;
  s.task = r.member("task").string();
  if (s.task != "classification" && s.task != "binary" && s.task != "regression")
    r.member("task").fail("expected \"classification\", \"binary\" or \"regression\", got \"" + s.task + "\"");
  s.features = strings(r.member("features"));
  s.targets = strings(r.member("targets"));
  if (const auto classes = r.find("classes")) s.classes = strings(*classes);
  if (s.features.empty()) r.member("features").fail("expected at least one feature column");
  if (s.targets.empty()) r.member("targets").fail("expected at least one target column");
  if (s.task != "regression" && s.classes.size() < 2) r.fail("a classifier's schema names its classes (two or more)");
  return s;
}

void set_data_schema(nlohmann::json& training, const DataSchema& schema) {
  if (training.is_null()) training = nlohmann::json::object();
  training["data"] = data_schema_to_json(schema);
}

}  // namespace plangrad
