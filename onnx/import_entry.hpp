// load_onnx's entry points below the file (internal to plangrad::onnx, its tests and its
// fuzz target): a ModelProto, or the bytes of one.
#pragma once

#include <string>

#include "core/model.hpp"
#include "onnx/onnx.hpp"

namespace onnx {
class ModelProto;
}

namespace plangrad::onnx_import {

// `source` names the model in errors; external data is read from the folder `dir` (empty:
// refused, as for bytes that come from no file).
Model import_model(const onnx::ModelProto& model, const std::string& source, const std::string& dir,
                   const OnnxImportOptions& options);
// The same from the bytes of a ModelProto (a FormatError naming `source` when they are not one).
Model import_bytes(const std::string& bytes, const std::string& source, const std::string& dir,
                   const OnnxImportOptions& options);

}  // namespace plangrad::onnx_import
