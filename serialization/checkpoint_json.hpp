// The JSON side of model documents and checkpoints, for the library's own .cpp files, its
// programs and its tests. Not a public header: it includes nlohmann/json.hpp, which the
// public ones (serialization/model_json.hpp, serialization/checkpoint.hpp) keep out of a
// user's program; there the "training" object is JSON text (ModelDocument::training).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "serialization/checkpoint.hpp"
#include "serialization/model_json.hpp"

namespace plangrad {

// A model document with its "training" object as a parsed value (null when absent), so
// that a checkpoint is parsed once on loading and its state dumped once on saving.
struct JsonModelDocument {
  Model model;
  nlohmann::json training;
};
JsonModelDocument json_model_document_from_json(const std::string& text, const std::string& source_name);
JsonModelDocument load_json_model_document(const std::string& path);
// `training` null: no "training" object; otherwise a JSON object (else a FormatError).
std::string model_to_json(const Model& model, const nlohmann::json& training);
void save_model_document(const Model& model, const nlohmann::json& training, const std::string& path);

// ModelDocument::training as a value: null when the text is empty, else the JSON object
// it holds; a FormatError "<source>: /training: ..." when it is not one.
nlohmann::json training_json(const std::string& text, const std::string& source_name);
// The text ModelDocument::training holds for a value (empty for null).
std::string training_text(const nlohmann::json& training);

nlohmann::json training_state_to_json(const TrainingState& state);
// FormatError "<source>: /training/<path>: <what>" (serialization/json_reader.hpp) for
// anything missing or of the wrong type, an unknown format name or a newer version.
TrainingState training_state_from_json(const nlohmann::json& training, const std::string& source_name);

}  // namespace plangrad
