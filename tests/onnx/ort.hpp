// The ONNX tests' bridge to ONNX Runtime: runs a model file in npm's onnxruntime-node
// (through tests/onnx/ort_run.js and Node.js) and returns its outputs. When Node.js or the
// package is missing, the calling test fails with the command that installs them
// (bash scripts/setup.sh --onnx); it never skips.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace plangrad::testing {

struct OrtTensor {
  std::vector<std::int64_t> dims;
  std::vector<float> values;
};

// The outputs of `model` (an .onnx file) for `inputs`, by output name, in ORT's CPU
// provider with one thread. Throws std::runtime_error with ORT's message on failure.
std::map<std::string, OrtTensor> run_ort(const std::string& model, const std::map<std::string, OrtTensor>& inputs);

}  // namespace plangrad::testing
