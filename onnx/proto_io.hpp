// Reading and writing ONNX's protobuf messages: the one place that turns bytes into a
// ModelProto and back, with plangrad's limits and error types. Internal to plangrad::onnx:
// the protobuf headers stay out of onnx/onnx.hpp.
#pragma once

#include <string>

#include <onnx/onnx_pb.h>

namespace plangrad::onnx_io {

// The ModelProto in the file at `path`. A DataError when it cannot be read or is larger
// than the model-file-bytes limit; a FormatError naming the file when the bytes are not a
// ModelProto (truncated, malformed, nested past protobuf's recursion limit).
onnx::ModelProto read_model(const std::string& path);

// Runs ONNX's checker on `model` (a GraphError with the checker's message when it fails:
// a file we wrote that the checker refuses is our bug, not the user's) and writes it to
// `path` atomically (core/atomic_file.hpp).
void write_model(const onnx::ModelProto& model, const std::string& path);

}  // namespace plangrad::onnx_io
