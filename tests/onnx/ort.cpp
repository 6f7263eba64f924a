#include "tests/onnx/ort.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace plangrad::testing {
namespace {

namespace fs = std::filesystem;

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

void write_floats(const fs::path& file, const std::vector<float>& values) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(float)));
  if (!out.flush()) throw std::runtime_error("cannot write " + file.string());
}

std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A fresh directory under the system's temporary folder, removed with the object.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "plangrad-ort-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

}  // namespace

std::map<std::string, OrtTensor> run_ort(const std::string& model, const std::map<std::string, OrtTensor>& inputs) {
  const std::string node = PLANGRAD_NODE;
  const std::string modules = PLANGRAD_ORT_MODULES;
  const std::string setup = " (bash scripts/setup.sh --onnx installs it)";
  if (node.empty() || node.find("NOTFOUND") != std::string::npos || !fs::exists(node)) {
    throw std::runtime_error("Node.js is not installed: CMake found no 'node' program" + setup);
  }
  if (!fs::exists(fs::path(modules) / "onnxruntime-node" / "package.json")) {
    throw std::runtime_error("npm's onnxruntime-node is not in " + modules + setup);
  }
  TempDir dir;
  std::string command = "NODE_PATH=" + shell_quote(modules) + " " + shell_quote(node) + " " +
                        shell_quote(std::string(PLANGRAD_SOURCE_DIR) + "/tests/onnx/ort_run.js") + " " +
                        shell_quote(model) + " " + shell_quote(dir.path.string());
  int index = 0;
  for (const auto& [name, tensor] : inputs) {
    const fs::path file = dir.path / ("in" + std::to_string(index++) + ".bin");
    write_floats(file, tensor.values);
    std::string dims;
    for (std::size_t i = 0; i < tensor.dims.size(); ++i) dims += (i ? "x" : "") + std::to_string(tensor.dims[i]);
    command += " " + shell_quote(name + "=" + file.string() + ":" + dims);
  }
  command += " 2>" + shell_quote((dir.path / "stderr.txt").string());
  const int status = std::system(command.c_str());
  if (status != 0) {
    throw std::runtime_error("ONNX Runtime failed on " + model + ": " + read_all(dir.path / "stderr.txt"));
  }
  const auto listing = nlohmann::json::parse(read_all(dir.path / "outputs.json"));
  std::map<std::string, OrtTensor> outputs;
  for (const auto& entry : listing) {
    OrtTensor t;
    t.dims = entry.at("dims").get<std::vector<std::int64_t>>();
    const std::string bytes = read_all(entry.at("file").get<std::string>());
    t.values.resize(bytes.size() / sizeof(float));
    std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(t.values.data()));
    outputs.emplace(entry.at("name").get<std::string>(), std::move(t));
  }
  return outputs;
}

}  // namespace plangrad::testing
