// The files tests/onnx/torch_models.py writes (PyTorch's ONNX exports and its outputs),
// made once per test process into a temporary folder. When PyTorch is missing the calling
// test fails with the script's output; it never skips.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/temp_dir.hpp"

namespace plangrad::testing {

class TorchFiles {
 public:
  static const TorchFiles& get() {
    static const TorchFiles files;
    return files;
  }
  std::string path(const std::string& name) const { return dir_.file(name); }
  const nlohmann::json& manifest() const { return manifest_; }
  // A raw little-endian float32 file.
  std::vector<float> floats(const std::string& name) const {
    std::ifstream in(path(name), std::ios::binary | std::ios::ate);
    if (!in) throw std::runtime_error("cannot read " + path(name));
    std::vector<float> v(static_cast<std::size_t>(in.tellg()) / sizeof(float));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
    return v;
  }

 private:
  TorchFiles() {
    const std::string log = dir_.file("torch_models.log");
    const std::string command = std::string(PLANGRAD_PYTHON) + " " + PLANGRAD_SOURCE_DIR +
                                "/tests/onnx/torch_models.py '" + dir_.path().string() + "' > '" + log + "' 2>&1";
    if (std::system(command.c_str()) != 0)
      throw std::runtime_error("tests/onnx/torch_models.py failed (PyTorch: python3-torch, bash scripts/setup.sh --onnx): " +
                               read_text(log));
    std::ifstream in(path("manifest.json"));
    manifest_ = nlohmann::json::parse(in);
  }
  TempDir dir_;
  nlohmann::json manifest_;
};

}  // namespace plangrad::testing
