#include "onnx/proto_io.hpp"

#include <limits>

#include <onnx/checker.h>

#include "core/atomic_file.hpp"
#include "core/errors.hpp"
#include "core/file_io.hpp"
#include "core/limits.hpp"

namespace plangrad::onnx_io {

onnx::ModelProto read_model(const std::string& path) {
  const std::string bytes = read_regular_file(path, "ONNX file", limits().model_file_bytes, "model-file-bytes");
  onnx::ModelProto model;
  // ParseFromArray takes an int size; the model-file-bytes limit is far below INT_MAX
  // unless a user raises it, so refuse what protobuf cannot take rather than wrap.
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw DataError(path + ": ONNX file of " + std::to_string(bytes.size()) +
                    " bytes, more than protobuf reads in one message (2 GiB)");
  }
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw FormatError(path + ": not an ONNX model (the protobuf message is truncated or malformed)");
  }
  return model;
}

void write_model(const onnx::ModelProto& model, const std::string& path) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw GraphError(path + ": the exported model fails ONNX's checker: " + e.what());
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) {
    throw DataError(path + ": cannot write: the ONNX model does not serialize (larger than 2 GiB?)");
  }
  write_file_atomically(path, bytes);
}

}  // namespace plangrad::onnx_io
