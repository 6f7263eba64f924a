// Bad ONNX files: each is a FormatError naming the file (and the node, op type and opset
// where there is one), never a crash or a wrong model.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>

#include <onnx/onnx_pb.h>

#include "core/errors.hpp"
#include "onnx/onnx.hpp"
#include "tests/error_message.hpp"
#include "tests/temp_dir.hpp"

namespace {

using plangrad::FormatError;
using plangrad::testing::error_message;

void add_value(onnx::ValueInfoProto* v, const std::string& name, std::vector<std::int64_t> dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  auto* s = t->mutable_shape();
  s->add_dim()->set_dim_param("N");
  for (const std::int64_t d : dims) s->add_dim()->set_dim_value(d);
}

onnx::TensorProto* add_initializer(onnx::GraphProto* g, const std::string& name, std::vector<std::int64_t> dims) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  std::int64_t n = 1;
  for (const std::int64_t d : dims) t->add_dims(d), n *= d;
  for (std::int64_t i = 0; i < n; ++i) t->add_float_data(0.5f);
  return t;
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& name, const std::string& op,
                          std::vector<std::string> in, std::vector<std::string> out) {
  auto* n = g->add_node();
  n->set_name(name);
  n->set_op_type(op);
  for (const auto& s : in) n->add_input(s);
  for (const auto& s : out) n->add_output(s);
  return n;
}

// x [N, 3] -> MatMul w [3, 2] -> Relu -> y: a model that imports; each case breaks it.
onnx::ModelProto good_model(std::int64_t opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* o = m.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("g");
  add_value(g->add_input(), "x", {3});
  add_value(g->add_output(), "y", {2});
  add_initializer(g, "w", {3, 2});
  add_node(g, "mm", "MatMul", {"x", "w"}, {"h"});
  add_node(g, "act", "Relu", {"h"}, {"y"});
  return m;
}

std::string write(const plangrad::testing::TempDir& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir.file(name);
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::string write(const plangrad::testing::TempDir& dir, const std::string& name, const onnx::ModelProto& m) {
  std::string bytes;
  REQUIRE(m.SerializeToString(&bytes));
  return write(dir, name, bytes);
}

std::string load_error(const std::string& path) {
  return error_message<FormatError>([&] { plangrad::load_onnx(path); });
}

}  // namespace

TEST_CASE("the test model itself imports", "[import_errors]") {
  plangrad::testing::TempDir dir;
  const plangrad::Model m = plangrad::load_onnx(write(dir, "good.onnx", good_model()));
  CHECK(m.graph.nodes.size() == 2);
  CHECK(m.parameters.count("w") == 1);
}

TEST_CASE("a truncated file and random bytes are FormatErrors naming the file", "[import_errors]") {
  plangrad::testing::TempDir dir;
  std::string bytes;
  REQUIRE(good_model().SerializeToString(&bytes));
  const std::string cut = write(dir, "cut.onnx", bytes.substr(0, bytes.size() - 7));
  CHECK_THAT(load_error(cut), Catch::Contains(cut));
  std::mt19937 rng(7);
  std::string noise(512, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  const std::string random = write(dir, "random.onnx", noise);
  CHECK_THAT(load_error(random), Catch::Contains(random));
}

TEST_CASE("an unknown op names the node, the op type and the opset", "[import_errors]") {
  plangrad::testing::TempDir dir;
  onnx::ModelProto m = good_model(15);
  m.mutable_graph()->mutable_node(1)->set_op_type("Celu");
  const std::string path = write(dir, "celu.onnx", m);
  const std::string message = load_error(path);
  CHECK_THAT(message, Catch::Contains(path) && Catch::Contains("node 'act'") && Catch::Contains("Celu") &&
                          Catch::Contains("opset 15"));
}

TEST_CASE("a bad opset or another domain is refused naming it", "[import_errors]") {
  plangrad::testing::TempDir dir;
  CHECK_THAT(load_error(write(dir, "op9.onnx", good_model(9))), Catch::Contains("opset 9"));
  CHECK_THAT(load_error(write(dir, "op18.onnx", good_model(18))), Catch::Contains("opset 18"));
  onnx::ModelProto m = good_model();
  m.mutable_graph()->mutable_node(1)->set_domain("com.microsoft");
  CHECK_THAT(load_error(write(dir, "domain.onnx", m)), Catch::Contains("node 'act'") && Catch::Contains("com.microsoft"));
}

TEST_CASE("dimensions that overflow or exceed the limit are refused", "[import_errors]") {
  plangrad::testing::TempDir dir;
  onnx::ModelProto m = good_model();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_dims();
  w->add_dims(std::int64_t{1} << 40);
  w->add_dims(std::int64_t{1} << 40);
  CHECK_THAT(load_error(write(dir, "overflow.onnx", m)), Catch::Contains("initializer 'w'") && Catch::Contains("overflow"));
  w->clear_dims();
  w->add_dims(std::int64_t{1} << 20);
  w->add_dims(std::int64_t{1} << 20);
  CHECK_THAT(load_error(write(dir, "huge.onnx", m)), Catch::Contains("initializer 'w'") && Catch::Contains("tensor-elements"));
  w->clear_dims();
  w->add_dims(3);
  w->add_dims(-2);
  CHECK_THAT(load_error(write(dir, "negative.onnx", m)), Catch::Contains("negative dimension"));
  onnx::ModelProto in = good_model();
  in.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(
      std::int64_t{1} << 62);
  in.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(
      std::int64_t{1} << 62);
  CHECK_THAT(load_error(write(dir, "input.onnx", in)), Catch::Contains("graph input 'x'") && Catch::Contains("overflow"));
}

TEST_CASE("tensor data that does not match its dimensions is refused", "[import_errors]") {
  plangrad::testing::TempDir dir;
  onnx::ModelProto m = good_model();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_raw_data(std::string(23, '\0'));  // 6 floats need 24 bytes
  CHECK_THAT(load_error(write(dir, "raw.onnx", m)), Catch::Contains("initializer 'w'") && Catch::Contains("raw_data of 23 bytes"));
  w->clear_raw_data();
  w->add_float_data(1.f);
  CHECK_THAT(load_error(write(dir, "one.onnx", m)), Catch::Contains("1 values for 6 elements"));
}

TEST_CASE("external data is read when present and refused when missing, outside the folder or short", "[import_errors]") {
  plangrad::testing::TempDir dir;
  onnx::ModelProto m = good_model();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* loc = w->add_external_data();
  loc->set_key("location");
  loc->set_value("weights.bin");
  CHECK_THAT(load_error(write(dir, "missing.onnx", m)), Catch::Contains("initializer 'w'") && Catch::Contains("weights.bin") &&
                                                             Catch::Contains("missing"));
  loc->set_value("../weights.bin");
  CHECK_THAT(load_error(write(dir, "escape.onnx", m)), Catch::Contains("leaves the model's folder"));
  loc->set_value("weights.bin");
  const std::vector<float> six = {1, 2, 3, 4, 5, 6};
  write(dir, "weights.bin", std::string(reinterpret_cast<const char*>(six.data()), 20));
  CHECK_THAT(load_error(write(dir, "short.onnx", m)), Catch::Contains("raw_data of 20 bytes"));
  write(dir, "weights.bin", std::string(reinterpret_cast<const char*>(six.data()), 24));
  const plangrad::Model model = plangrad::load_onnx(write(dir, "external.onnx", m));
  CHECK(model.parameter("w").data()[5] == 6.f);
}

TEST_CASE("a cycle, a missing input and a duplicate name name the node", "[import_errors]") {
  plangrad::testing::TempDir dir;
  onnx::ModelProto cycle = good_model();
  cycle.mutable_graph()->mutable_node(0)->set_input(0, "y");  // mm reads act's output
  CHECK_THAT(load_error(write(dir, "cycle.onnx", cycle)), Catch::Contains("cycle") &&
                                                              (Catch::Contains("node 'mm'") || Catch::Contains("node 'act'")));
  onnx::ModelProto missing = good_model();
  missing.mutable_graph()->mutable_node(1)->set_input(0, "nowhere");
  CHECK_THAT(load_error(write(dir, "missing.onnx", missing)), Catch::Contains("node 'act'") && Catch::Contains("'nowhere'"));
  onnx::ModelProto twice = good_model();
  twice.mutable_graph()->mutable_node(0)->set_output(0, "y");
  twice.mutable_graph()->mutable_node(1)->set_input(0, "x");
  CHECK_THAT(load_error(write(dir, "twice.onnx", twice)), Catch::Contains("'y'") && Catch::Contains("duplicate"));
}

TEST_CASE("what plangrad cannot compute exactly is refused, naming the node", "[import_errors]") {
  plangrad::testing::TempDir dir;
  onnx::ModelProto m = good_model();
  auto* g = m.mutable_graph();
  // x [N, 1, 4, 4] -> MaxPool ceil_mode=1
  g->clear_input();
  add_value(g->add_input(), "x4", {1, 4, 4});
  g->clear_node();
  g->clear_initializer();
  auto* pool = add_node(g, "pool", "MaxPool", {"x4"}, {"y"});
  auto* k = pool->add_attribute();
  k->set_name("kernel_shape");
  k->set_type(onnx::AttributeProto::INTS);
  k->add_ints(2);
  k->add_ints(2);
  auto* ceil = pool->add_attribute();
  ceil->set_name("ceil_mode");
  ceil->set_type(onnx::AttributeProto::INT);
  ceil->set_i(1);
  CHECK_THAT(load_error(write(dir, "ceil.onnx", m)), Catch::Contains("node 'pool'") && Catch::Contains("ceil_mode"));
  ceil->set_i(0);
  auto* pads = pool->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int p : {1, 0, 0, 0}) pads->add_ints(p);
  CHECK_THAT(load_error(write(dir, "pads.onnx", m)), Catch::Contains("not symmetric"));
}

TEST_CASE("a loss that does not fit the model is a UsageError", "[import_errors]") {
  plangrad::testing::TempDir dir;
  const std::string path = write(dir, "good.onnx", good_model());
  using plangrad::UsageError;
  CHECK_THAT(error_message<UsageError>([&] { plangrad::load_onnx(path, {"hinge", ""}); }), Catch::Contains("hinge"));
  CHECK_THAT(error_message<UsageError>([&] { plangrad::load_onnx(path, {"mse", "x"}); }),
             Catch::Contains("'x'") && Catch::Contains("already"));
  CHECK_THAT(error_message<UsageError>([&] { plangrad::load_onnx(path, {"", "labels"}); }), Catch::Contains("--loss"));
  onnx::ModelProto two = good_model();
  add_value(two.mutable_graph()->add_output(), "h", {2});
  CHECK_THAT(error_message<UsageError>([&] { plangrad::load_onnx(write(dir, "two.onnx", two), {"bce", ""}); }),
             Catch::Contains("one output"));
  // A loss that fits: bce's target has the output's shape.
  const plangrad::Model m = plangrad::load_onnx(path, {"bce", "t"});
  CHECK(m.graph.find_value("t")->shape == plangrad::Shape{plangrad::kBatchDim, 2});
  CHECK(m.graph.outputs == std::vector<std::string>{"loss", "y"});
}
