/// \file
/// The JSON model format (docs/model-format.md): one document holding the graph, the
/// parameters, the state and an optional free-form "training" object.
///
/// Writing (model_json_write.cpp) is deterministic (save -> load -> save is byte-identical)
/// and exact (every float reads back bit for bit). Reading (model_json_read.cpp) is strict:
/// a document that is not well-formed is a FormatError whose message starts with the source
/// name and the JSON path of the offending item, e.g.
/// \code
///   "mlp.json: /graph/nodes/3/attrs/stride: expected a list of integers"
/// \endcode
/// and the graph then goes through the planner's own passes (names, arities, attributes,
/// references, cycles, shapes), whose GraphError or ShapeError gets the same prefix, so a
/// loaded model always plans.
#pragma once

#include <string>

#include "core/model.hpp"

namespace plangrad {

/// The "format" of a model document.
inline constexpr const char* kModelFormatName = "plangrad-model";
/// The "version" of a model document (independent of the library's, kVersion).
inline constexpr int kModelFormatVersion = 1;

/// A model and what the document carries besides it. `training` is the document's
/// "training" object (optimizer state, metadata) as JSON text, compact, with its keys
/// sorted; empty when absent. Plain text so that this header needs no JSON library: parse
/// it with any. Writing takes any text that is one JSON object (else a FormatError) and
/// writes it indented like the rest of the document.
struct ModelDocument {
  Model model;           ///< the graph, parameters and state
  std::string training;  ///< the "training" object as JSON text; empty: none
};

/// The model as a JSON document (deterministic and exact, as above).
std::string model_to_json(const Model& model);
/// The document as JSON, with its "training" object; a FormatError when `training` is
/// not one JSON object.
std::string model_to_json(const ModelDocument& document);

/// `source_name` (a file name, "<memory>") prefixes every error message.
Model model_from_json(const std::string& text, const std::string& source_name);
/// \copydoc model_from_json
ModelDocument model_document_from_json(const std::string& text, const std::string& source_name);

/// Atomic (core/atomic_file.hpp): the file is the old one or the whole new document, also
/// after a crash. On a failure the old file is untouched and a DataError names the path.
void save_model(const Model& model, const std::string& path);
/// \copydoc save_model
void save_model_document(const ModelDocument& document, const std::string& path);

/// A missing or unreadable file is a DataError naming the path; a bad document is a
/// FormatError, or the planner's GraphError / ShapeError, prefixed with the path.
Model load_model(const std::string& path);
/// \copydoc load_model
ModelDocument load_model_document(const std::string& path);

}  // namespace plangrad
