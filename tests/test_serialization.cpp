// The JSON model format: exact and deterministic round trips, bit-identical predictions
// (batchnorm state included), independence of key and node order, the documented
// example, the "training" object, and atomic saving.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "engine/executor.hpp"
#include "planner/plan.hpp"
#include "serialization/model_json.hpp"
#include "tests/error_message.hpp"
#include "tests/serialization_models.hpp"
#include "tests/temp_dir.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;


// Same declarations, same nodes (in any order), same outputs, same data, bit for bit.
void require_same_model(const Model& a, const Model& b) {
  REQUIRE(a.graph.values.size() == b.graph.values.size());
  for (const ValueDecl& v : a.graph.values) {
    const ValueDecl* w = b.graph.find_value(v.name);
    REQUIRE(w != nullptr);
    CHECK(w->kind == v.kind);
    CHECK(w->shape == v.shape);
  }
  REQUIRE(a.graph.nodes.size() == b.graph.nodes.size());
  for (const Node& n : a.graph.nodes) {
    const Node* m = b.graph.find_node(n.name);
    REQUIRE(m != nullptr);
    CHECK(m->op == n.op);
    CHECK(m->inputs == n.inputs);
    CHECK(m->outputs == n.outputs);
    CHECK(m->attrs == n.attrs);
  }
  CHECK(a.graph.outputs == b.graph.outputs);
  CHECK(same_bits(a.parameters, b.parameters));
  CHECK(same_bits(a.state, b.state));
}

// The graph's first output for a deterministic batch, from an Eval inference plan.
std::vector<float> predict(Model& model, const std::string& input, std::int64_t batch) {
  PlanRequest req;
  req.kind = PlanKind::Inference;
  req.mode = static_cast<int>(Mode::Eval);
  req.batch = batch;
  Executor<float> ex(model, make_plan(model.graph, req));
  TensorRef<float> x = ex.input(input);
  for (std::size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i) + 0.1) * 1.7);
  ex.run();
  TensorRef<const float> y = ex.value(model.graph.outputs.front());
  return std::vector<float>(y.begin(), y.end());
}

// Dumps JSON with every object's keys in reverse order (nlohmann sorts them).
std::string dump_reversed(const json& j) {
  if (j.is_object()) {
    std::vector<std::string> items;
    for (auto it = j.begin(); it != j.end(); ++it) items.push_back(json(it.key()).dump() + ":" + dump_reversed(it.value()));
    std::reverse(items.begin(), items.end());
    std::string s = "{";
    for (std::size_t i = 0; i < items.size(); ++i) s += (i ? "," : "") + items[i];
    return s + "}";
  }
  if (j.is_array()) {
    std::string s = "[";
    for (std::size_t i = 0; i < j.size(); ++i) s += (i ? "," : "") + dump_reversed(j[i]);
    return s + "]";
  }
  return j.dump();
}

std::string doc_example() {
  const fs::path doc = fs::path(__FILE__).parent_path().parent_path() / "docs" / "model-format.md";
  const std::string text = read_text(doc.string());
  const std::string begin = "<!-- example:begin -->\n```json\n", end = "```\n<!-- example:end -->";
  const auto b = text.find(begin), e = text.find(end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  return text.substr(b + begin.size(), e - b - begin.size());
}

}  // namespace

TEST_CASE("serialization: save -> load -> save is byte-identical", "[serialization]") {
  for (Model m : {ser_mlp(), ser_cnn(), ser_tagged_model()}) {
    const std::string first = model_to_json(m);
    const Model loaded = model_from_json(first, "<memory>");
    require_same_model(m, loaded);
    CHECK(model_to_json(loaded) == first);
  }
}

TEST_CASE("serialization: every float reads back bit-exactly", "[serialization]") {
  std::vector<float> values = {0.0f, -0.0f, 1.0f, -1.0f, 0.1f, 1.0f / 3.0f, 1e-45f, -1e-45f,
                               std::numeric_limits<float>::min(), std::numeric_limits<float>::max(),
                               -std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(),
                               16777217.0f, 3.4028233e38f, 1e20f, 123456789.0f};
  std::mt19937 rng(12345);
  while (values.size() < 20000) {
    const std::uint32_t bits = static_cast<std::uint32_t>(rng());
    float f;
    std::memcpy(&f, &bits, sizeof f);
    if (std::isfinite(f)) values.push_back(f);
  }
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 1});
  Value w = b.parameter("w", {1, static_cast<Dim>(values.size())}, init::zeros());
  b.output(b.matmul(x, w, "y"));
  Model m = b.build(0);
  std::copy(values.begin(), values.end(), m.parameters.at("w").begin());
  const Model loaded = model_from_json(model_to_json(m), "<memory>");
  CHECK(same_bits(m.parameters.at("w"), loaded.parameters.at("w")));
  CHECK(std::signbit(loaded.parameters.at("w")(0, 1)));  // -0.0 keeps its sign
}

TEST_CASE("serialization: a loaded model predicts bit-identically", "[serialization]") {
  SECTION("MLP") {
    Model m = ser_mlp(42);
    Model loaded = model_from_json(model_to_json(m), "<memory>");
    CHECK(same_bits(predict(m, "x", 5), predict(loaded, "x", 5)));
  }
  SECTION("CNN with batchnorm running statistics, Eval mode") {
    REQUIRE(lookup_op("batchnorm") != nullptr);
    Model m = ser_cnn();
    Model loaded = model_from_json(model_to_json(m), "<memory>");
    CHECK(same_bits(m.state.at("bn.running_var"), loaded.state.at("bn.running_var")));
    const std::vector<float> expected = predict(m, "x", 3);
    CHECK(same_bits(expected, predict(loaded, "x", 3)));
    // The state matters: different running statistics give a different prediction.
    loaded.state.at("bn.running_var")(1) = 7.0f;
    CHECK_FALSE(same_bits(expected, predict(loaded, "x", 3)));
  }
}

TEST_CASE("serialization: loading ignores key order and node order", "[serialization]") {
  Model m = ser_cnn();
  json doc = json::parse(model_to_json(m));
  auto& nodes = doc["graph"]["nodes"];
  std::vector<json> shuffled(nodes.begin(), nodes.end());
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(3));
  std::reverse(shuffled.begin(), shuffled.end());
  nodes = json(shuffled);
  const std::string text = dump_reversed(doc);
  REQUIRE(text.rfind("{\"version\":1,\"state\"", 0) == 0);  // keys really are reordered
  Model loaded = model_from_json(text, "<memory>");
  require_same_model(m, loaded);
  CHECK(loaded.graph.nodes.front().name != m.graph.nodes.front().name);
  CHECK(same_bits(predict(m, "x", 2), predict(loaded, "x", 2)));
}

TEST_CASE("serialization: attribute types", "[serialization]") {
  Model m = ser_tagged_model();
  const std::string text = model_to_json(m);
  CHECK_THAT(text, Contains("\"attrs\": {\"k\": 3, \"label\": \"hello\"}"));
  const Model cnn_loaded = model_from_json(model_to_json(ser_cnn()), "<memory>");
  const Node* bn = cnn_loaded.graph.find_node("bn");
  REQUIRE(bn != nullptr);
  CHECK(std::holds_alternative<double>(*bn->attrs.find("eps")));
  CHECK(bn->attrs.get_float("eps") == 1e-3);
  CHECK(cnn_loaded.graph.find_node("conv")->attrs.get_ints("padding") == std::vector<std::int64_t>{1, 1});
  // An integer where a Float is expected is fine and reads as a float.
  json doc = json::parse(model_to_json(ser_cnn()));
  for (auto& n : doc["graph"]["nodes"])
    if (n["name"] == "bn") n["attrs"]["momentum"] = 1;
  const Model loaded = model_from_json(doc.dump(), "<memory>");
  CHECK(std::holds_alternative<double>(*loaded.graph.find_node("bn")->attrs.find("momentum")));
  CHECK(loaded.graph.find_node("bn")->attrs.get_float("momentum") == 1.0);
}

TEST_CASE("serialization: the symbolic batch is \"N\" or null", "[serialization]") {
  json doc = json::parse(model_to_json(ser_mlp()));
  CHECK(doc["graph"]["inputs"][0]["shape"] == json::parse(R"(["N", 2])"));
  doc["graph"]["inputs"][0]["shape"][0] = nullptr;
  CHECK(model_from_json(doc.dump(), "<memory>").graph.find_value("x")->shape == Shape{kBatchDim, 2});
}

TEST_CASE("serialization: the example in docs/model-format.md loads and is what save writes",
          "[serialization]") {
  const std::string example = doc_example();
  const ModelDocument d = model_document_from_json(example, "docs/model-format.md");
  CHECK(d.model.parameter_count() == 2 * 3 + 3 + 3 * 1 + 1);
  CHECK(d.model.graph.outputs == std::vector<std::string>{"fc2"});
  CHECK(json::parse(d.training)["optimizer"]["name"] == "sgd");
  CHECK(model_to_json(d) == example);
  // And it is the model the builder makes (the doc's values are set by hand).
  Model built = ser_mlp();
  built.parameters = d.model.parameters;
  CHECK(model_to_json(built) + "" == model_to_json(d.model));
  Model copy = d.model;
  const std::vector<float> y = predict(copy, "x", 4);
  CHECK(y.size() == 4);
}

TEST_CASE("serialization: the training object is kept verbatim", "[serialization]") {
  TempDir dir;
  const json training = json::parse(R"({"optimizer": {"name": "adam", "beta1": 0.9,
      "m": {"fc1.weight": [0.1, 1e-30]}}, "epoch": 12, "notes": "\u00e9t\u00e9", "flags": [true, null]})");
  ModelDocument d{ser_mlp(), training.dump()};
  save_model_document(d, dir.file("m.json"));
  const ModelDocument back = load_model_document(dir.file("m.json"));
  CHECK(back.training == d.training);  // compact text, keys sorted
  CHECK(json::parse(back.training) == training);
  CHECK(model_to_json(back) == model_to_json(d));
  CHECK(json::parse(load_model_document(dir.file("m.json")).training)["epoch"] == 12);
  // A model saved without one has none.
  CHECK(model_document_from_json(model_to_json(ser_mlp()), "<memory>").training.empty());
}

TEST_CASE("serialization: the training text is any one JSON object", "[serialization]") {
  // Spacing and key order are the writer's, not the text's.
  CHECK(model_to_json(ModelDocument{ser_mlp(), " { \"b\" :[1,2], \"a\": {} } "}) ==
        model_to_json(ModelDocument{ser_mlp(), R"({"a":{},"b":[1,2]})"}));
  CHECK_THAT(error_message<FormatError>([] { model_to_json(ModelDocument{ser_mlp(), "[1, 2]"}); }),
             Contains("ModelDocument::training: /training: expected an object, got an array"));
  CHECK_THAT(error_message<FormatError>([] { model_to_json(ModelDocument{ser_mlp(), "{\"a\": 1"}); }),
             Contains("ModelDocument::training: malformed JSON"));
}

TEST_CASE("serialization: save_model is atomic and load_model names the file", "[serialization]") {
  TempDir dir;
  const std::string path = dir.file("model.json");
  const Model m = ser_cnn();
  save_model(m, path);
  const std::string first = read_text(path);
  CHECK(first == model_to_json(m));
  require_same_model(m, load_model(path));

  SECTION("overwriting replaces the file and leaves no temporary behind") {
    save_model(ser_mlp(), path);
    CHECK(read_text(path) == model_to_json(ser_mlp()));
    CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
  }
  SECTION("a failed save leaves the target untouched and no temporary behind") {
    Model bad = ser_mlp();
    bad.parameters.at("fc1.weight")(0, 0) = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_AS(save_model(bad, path), FormatError);
    CHECK(read_text(path) == first);
    // The rename fails: the target is a non-empty directory.
    fs::create_directories(dir.file("taken/inside"));
    CHECK_THROWS_AS(save_model(m, dir.file("taken")), DataError);
    CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 2);
    CHECK(read_text(path) == first);
  }
  SECTION("saving into a missing directory is a DataError naming the path") {
    const std::string missing = dir.file("no/such/dir/m.json");
    try {
      save_model(m, missing);
      FAIL("no exception");
    } catch (const DataError& e) {
      CHECK_THAT(e.what(), Contains(missing));
    }
  }
  SECTION("a missing or unreadable file is a DataError naming the path") {
    const std::string missing = dir.file("absent.json");
    try {
      (void)load_model(missing);
      FAIL("no exception");
    } catch (const DataError& e) {
      CHECK_THAT(e.what(), Contains(missing));
    }
    CHECK_THROWS_AS(load_model(dir.path().string()), DataError);
  }
  SECTION("a bad document names the file") {
    std::ofstream(dir.file("bad.json")) << "{\"format\": \"plangrad-model\", \"version\": 7}";
    try {
      (void)load_model(dir.file("bad.json"));
      FAIL("no exception");
    } catch (const FormatError& e) {
      CHECK_THAT(e.what(), Contains(dir.file("bad.json") + ": /version"));
    }
  }
}

#include "serialization/model_summary.hpp"

TEST_CASE("serialization: inspect table and DOT graph", "[serialization]") {
  const Model m = model_from_json(model_to_json(ser_cnn()), "<memory>");
  const std::string table = model_table(m);
  INFO(table);
  CHECK_THAT(table, Contains("conv  "));
  CHECK_THAT(table, Contains("[N, 2, 6, 6]"));
  CHECK_THAT(table, Contains("[N, 18]"));
  CHECK_THAT(table, Contains("[N, 3]"));
  // conv: 2*1*3*3 + 2 = 20 parameters; fc.matmul 18*3 = 54; bn 4.
  auto row = [&](const std::string& node) {
    std::istringstream in(table);
    for (std::string line; std::getline(in, line);)
      if (line.rfind(node + " ", 0) == 0) {
        std::istringstream words(line);
        std::string w, all;
        while (words >> w) all += (all.empty() ? "" : " ") + w;
        return all;
      }
    return std::string("<no row>");
  };
  CHECK(row("conv") == "conv conv2d [N, 2, 6, 6] 20");
  CHECK(row("bn") == "bn batchnorm [N, 2, 6, 6] 4");
  CHECK(row("pool") == "pool max_pool2d [N, 2, 3, 3] 0");
  CHECK(row("fc.matmul") == "fc.matmul matmul [N, 3] 54");
  const std::size_t total = 20 + 4 + 54 + 3;
  CHECK(m.parameter_count() == total);
  CHECK_THAT(table, Contains("parameters: " + std::to_string(total) + " in 6 tensors, " +
                             std::to_string(total * 4) + " bytes"));
  CHECK_THAT(table, Contains("state:      4 in 2 tensors, 16 bytes"));
  CHECK(symbolic_shapes(m.graph).at("flat") == Shape{kBatchDim, 18});

  const std::string dot = model_dot(m);
  INFO(dot);
  CHECK(dot.rfind("digraph plangrad {", 0) == 0);
  CHECK_THAT(dot, Contains("\"value:x\" [label=\"x\\n[N, 1, 6, 6]\", shape=invhouse"));
  CHECK_THAT(dot, Contains("\"value:bn.running_mean\" [label=\"bn.running_mean\\n[2]\", shape=cylinder"));
  CHECK_THAT(dot, Contains("\"value:conv.weight\" [label=\"conv.weight\\n[2, 1, 3, 3]\", shape=box"));
  CHECK_THAT(dot, Contains("\"node:bn\" [label=\"batchnorm\\nbn\""));
  CHECK_THAT(dot, Contains("\"node:pool\" -> \"node:flat\" [label=\"[N, 2, 3, 3]\"]"));
  CHECK_THAT(dot, Contains("\"node:fc\" -> \"output:fc\" [label=\"[N, 3]\"]"));
}
