// What save_onnx writes besides the numbers (names kept, the batch dimension, losses and
// labels dropped, the statistics as initializers) and what it refuses: an op without a
// mapping, an opset or batch out of range, an output that is unknown or not computed, a
// path that cannot be written; a refused export leaves the target as it was.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "networks/builtin.hpp"
#include "networks/models.hpp"
#include "onnx/onnx.hpp"
#include "onnx/proto_io.hpp"
#include "ops/activations.hpp"
#include "ops/op.hpp"
#include "tests/error_message.hpp"
#include "tests/temp_dir.hpp"

namespace {

using plangrad::OnnxExportOptions;
using plangrad::testing::error_message;

template <class Repeated>
std::vector<std::string> names_of(const Repeated& items) {
  std::vector<std::string> names;
  for (const auto& item : items) names.push_back(item.name());
  return names;
}

bool has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string first_dim(const onnx::ValueInfoProto& v) {
  const auto& dim = v.type().tensor_type().shape().dim(0);
  return dim.has_dim_param() ? dim.dim_param() : std::to_string(dim.dim_value());
}

}  // namespace

TEST_CASE("export keeps plangrad's names and drops the loss and its labels", "[export]") {
  plangrad::testing::TempDir dir;
  const std::string path = dir.file("mnist-cnn.onnx");
  const plangrad::Model model = plangrad::models::mnist_cnn({0.1307, 0.3081}).build(1);
  plangrad::save_onnx(model, path);
  const onnx::ModelProto proto = plangrad::onnx_io::read_model(path);
  const onnx::GraphProto& g = proto.graph();

  CHECK(proto.opset_import(0).version() == 17);
  CHECK(names_of(g.input()) == std::vector<std::string>{"x"});  // no "labels"
  CHECK(names_of(g.output()) == std::vector<std::string>{"logits"});
  CHECK(first_dim(g.input(0)) == "N");
  CHECK(first_dim(g.output(0)) == "N");
  std::vector<std::string> nodes = names_of(g.node());
  std::vector<std::string> initializers = names_of(g.initializer());
  for (const plangrad::Node& node : model.graph.nodes) {
    INFO("node " << node.name << " (" << node.op << ")");
    CHECK(has(nodes, node.name) == (node.op != "softmax_cross_entropy"));
  }
  for (const plangrad::ValueDecl& v : model.graph.values) {
    INFO("value " << v.name);
    CHECK(has(initializers, v.name) == (v.kind != plangrad::ValueKind::Input));
  }
  for (const onnx::NodeProto& node : g.node())
    if (node.op_type() == "BatchNormalization") {
      REQUIRE(node.input_size() == 5);  // x, scale, bias, the running mean and variance
      CHECK(model.state.count(node.input(3)) == 1);
      CHECK(model.state.count(node.input(4)) == 1);
    }
}

TEST_CASE("export fixes the batch dimension when asked, and exports the outputs named", "[export]") {
  plangrad::testing::TempDir dir;
  const std::string path = dir.file("residual.onnx");
  OnnxExportOptions options;
  options.batch = 64;
  options.opset = 13;
  options.outputs = {"logits", "relu_1"};
  plangrad::save_onnx(plangrad::models::builtin_model("residual", 1), path, options);
  const onnx::ModelProto proto = plangrad::onnx_io::read_model(path);
  CHECK(proto.opset_import(0).version() == 13);
  CHECK(names_of(proto.graph().output()) == std::vector<std::string>{"logits", "relu_1"});
  CHECK(first_dim(proto.graph().input(0)) == "64");
  CHECK(first_dim(proto.graph().output(1)) == "64");
}

TEST_CASE("export refuses a loss asked for as an output, naming the node and the op", "[export]") {
  plangrad::testing::TempDir dir;
  OnnxExportOptions options;
  options.outputs = {"loss"};
  const std::string message = error_message<plangrad::GraphError>(
      [&] { plangrad::save_onnx(plangrad::models::builtin_model("circle", 1), dir.file("c.onnx"), options); });
  CHECK_THAT(message, Catch::Contains("node 'loss'") && Catch::Contains("mse_loss") &&
                          Catch::Contains("no ONNX mapping"));
  CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("export refuses an op without a mapping, naming the node and the op", "[export]") {
  // A relu registered under another name: the planner runs it, the export table has no entry.
  if (!plangrad::lookup_op("export_test_relu")) {
    plangrad::OpDef def = plangrad::relu_op();
    def.name = "export_test_relu";
    plangrad::register_op(def);
  }
  plangrad::GraphBuilder b;
  const plangrad::Value x = b.input("x", {plangrad::kBatchDim, 3});
  b.output(b.tanh(b.op("export_test_relu", {x}, {}, "mine"), "out"));
  plangrad::testing::TempDir dir;
  const std::string message = error_message<plangrad::GraphError>(
      [&] { plangrad::save_onnx(b.build(1), dir.file("m.onnx")); });
  CHECK_THAT(message, Catch::Contains("node 'mine'") && Catch::Contains("export_test_relu"));
}

TEST_CASE("export refuses opsets other than 13 to 17 and a negative batch", "[export]") {
  plangrad::testing::TempDir dir;
  const plangrad::Model model = plangrad::models::builtin_model("circle", 1);
  for (const int opset : {0, 12, 18, 20}) {
    OnnxExportOptions options;
    options.opset = opset;
    const std::string message =
        error_message<plangrad::UsageError>([&] { plangrad::save_onnx(model, dir.file("c.onnx"), options); });
    CHECK_THAT(message, Catch::Contains("opset " + std::to_string(opset)) && Catch::Contains("13 to 17"));
  }
  OnnxExportOptions options;
  options.batch = -1;
  CHECK_THROWS_AS(plangrad::save_onnx(model, dir.file("c.onnx"), options), plangrad::UsageError);
  for (const int opset : {13, 14, 15, 16, 17}) {
    options = {};
    options.opset = opset;
    CHECK_NOTHROW(plangrad::save_onnx(model, dir.file("c.onnx"), options));
  }
}

TEST_CASE("export refuses an output that is unknown, an input, or named twice", "[export]") {
  plangrad::testing::TempDir dir;
  const plangrad::Model model = plangrad::models::builtin_model("circle", 1);
  const auto refused = [&](std::vector<std::string> outputs) {
    OnnxExportOptions options;
    options.outputs = std::move(outputs);
    return error_message<plangrad::UsageError>([&] { plangrad::save_onnx(model, dir.file("c.onnx"), options); });
  };
  CHECK_THAT(refused({"nosuch"}), Catch::Contains("'nosuch'") && Catch::Contains("no value"));
  CHECK_THAT(refused({"x"}), Catch::Contains("'x' is a graph input"));
  CHECK_THAT(refused({"out", "out"}), Catch::Contains("named twice"));
  CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("a failed export leaves the target as it was and nothing beside it", "[export]") {
  plangrad::testing::TempDir dir;
  const plangrad::Model model = plangrad::models::builtin_model("circle", 1);
  const std::string path = dir.file("kept.onnx");
  std::ofstream(path) << "the old file";
  OnnxExportOptions options;
  options.outputs = {"loss"};
  CHECK_THROWS_AS(plangrad::save_onnx(model, path, options), plangrad::GraphError);
  CHECK(plangrad::testing::read_text(path) == "the old file");

  // A folder that does not exist: a DataError naming the path, no file anywhere.
  const std::string missing = dir.file("no-such-folder/m.onnx");
  const std::string message =
      error_message<plangrad::DataError>([&] { plangrad::save_onnx(model, missing); });
  CHECK_THAT(message, Catch::Contains(missing));
  // A folder that cannot take a file (root's writes pass anyway): the old file stays and
  // no temporary file is left.
  const std::filesystem::path locked = dir.path() / "locked";
  std::filesystem::create_directory(locked);
  std::ofstream(locked / "m.onnx") << "the old file";
  if (::geteuid() != 0) {
    std::filesystem::permissions(locked, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    CHECK_THROWS_AS(plangrad::save_onnx(model, (locked / "m.onnx").string()), plangrad::DataError);
    std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
    CHECK(plangrad::testing::read_text((locked / "m.onnx").string()) == "the old file");
    CHECK(std::distance(std::filesystem::directory_iterator(locked), std::filesystem::directory_iterator()) == 1);
  }
  std::vector<std::string> top;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) top.push_back(entry.path().filename());
  std::sort(top.begin(), top.end());
  CHECK(top == std::vector<std::string>{"kept.onnx", "locked"});
}
