// The pieces every ONNX test stands on: a ModelProto written by onnx/proto_io.cpp passes
// the checker and runs in ONNX Runtime through tests/onnx/ort.hpp; a file that is not a
// ModelProto is a FormatError naming the file.
#include <catch2/catch.hpp>

#include <fstream>

#include "core/errors.hpp"
#include "onnx/proto_io.hpp"
#include "tests/error_message.hpp"
#include "tests/onnx/ort.hpp"
#include "tests/temp_dir.hpp"

namespace {

// y = Relu(x) with x of shape [N, 3].
onnx::ModelProto relu_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("relu");
  auto* n = g->add_node();
  n->set_op_type("Relu");
  n->set_name("r");
  n->add_input("x");
  n->add_output("y");
  for (auto* v : {g->add_input(), g->add_output()}) {
    v->set_name(v == &g->input(0) ? "x" : "y");
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    t->mutable_shape()->add_dim()->set_dim_param("N");
    t->mutable_shape()->add_dim()->set_dim_value(3);
  }
  return m;
}

}  // namespace

TEST_CASE("a written ONNX model reads back and runs in ONNX Runtime") {
  plangrad::testing::TempDir dir;
  const std::string path = dir.file("relu.onnx");
  plangrad::onnx_io::write_model(relu_model(), path);
  const onnx::ModelProto back = plangrad::onnx_io::read_model(path);
  REQUIRE(back.graph().node(0).op_type() == "Relu");

  const auto out = plangrad::testing::run_ort(path, {{"x", {{2, 3}, {-1.f, 0.5f, 2.f, 3.f, -0.25f, 0.f}}}});
  REQUIRE(out.count("y") == 1);
  CHECK(out.at("y").dims == std::vector<std::int64_t>{2, 3});
  CHECK(out.at("y").values == std::vector<float>{0.f, 0.5f, 2.f, 3.f, 0.f, 0.f});
}

TEST_CASE("a model the checker refuses is not written") {
  plangrad::testing::TempDir dir;
  const std::string path = dir.file("bad.onnx");
  onnx::ModelProto m = relu_model();
  m.mutable_graph()->mutable_node(0)->set_input(0, "nowhere");
  CHECK_THROWS_AS(plangrad::onnx_io::write_model(m, path), plangrad::GraphError);
  CHECK_FALSE(std::ifstream(path).good());
}

TEST_CASE("a truncated ONNX file is a FormatError naming the file") {
  plangrad::testing::TempDir dir;
  const std::string path = dir.file("cut.onnx");
  std::string bytes;
  REQUIRE(relu_model().SerializeToString(&bytes));
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  const std::string message = plangrad::testing::error_message<plangrad::FormatError>(
      [&] { plangrad::onnx_io::read_model(path); });
  CHECK_THAT(message, Catch::Contains(path));
}
