// Strict loading: each malformed document raises the right typed error, and its message
// carries the JSON path of the problem. Every prefix of a valid document fails cleanly.
#include <functional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "serialization/model_json.hpp"
#include "tests/serialization_models.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using nlohmann::json;

namespace {

enum class Err { Format, Graph, Shape };

struct Case {
  const char* what;
  std::function<std::string()> document;
  Err error;
  std::vector<std::string> expected;  // substrings of the message
};

json mlp() { return json::parse(model_to_json(ser_mlp())); }
json cnn() { return json::parse(model_to_json(ser_cnn())); }
json tagged() { return json::parse(model_to_json(ser_tagged_model())); }

// The index of the node named `name`.
std::size_t node(const json& doc, const std::string& name) {
  const json& nodes = doc["graph"]["nodes"];
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i]["name"] == name) return i;
  throw std::logic_error("no node " + name);
}
std::string node_path(const json& doc, const std::string& name) {
  return "/graph/nodes/" + std::to_string(node(doc, name));
}

// A case built from a base document and an edit.
Case edit(const char* what, json (*base)(), std::function<void(json&)> change, Err error,
          std::vector<std::string> expected) {
  return {what, [=] {
            json d = base();
            change(d);
            return d.dump();
          },
          error, std::move(expected)};
}
Case text(const char* what, std::string doc, Err error, std::vector<std::string> expected) {
  return {what, [doc] { return doc; }, error, std::move(expected)};
}

std::vector<Case> cases() {
  std::vector<Case> c;
  // ---- the JSON itself and the envelope
  c.push_back(text("truncated JSON", R"({"format": "plangrad-model", "version": 1,)", Err::Format,
                   {"malformed JSON at byte"}));
  c.push_back(text("not JSON at all", "plangrad", Err::Format, {"malformed JSON at byte 1"}));
  c.push_back(text("empty document", "", Err::Format, {"malformed JSON"}));
  c.push_back(text("number overflow 1e999", R"({"format": "plangrad-model", "version": 1e999})",
                   Err::Format, {"malformed JSON", "1e999"}));
  c.push_back(text("root is an array", "[1, 2]", Err::Format, {": /: expected an object"}));
  c.push_back(edit("wrong format name", mlp, [](json& d) { d["format"] = "onnx"; }, Err::Format,
                   {"/format: expected \"plangrad-model\"", "onnx"}));
  c.push_back(edit("missing format", mlp, [](json& d) { d.erase("format"); }, Err::Format,
                   {": /: missing key \"format\""}));
  c.push_back(edit("newer version", mlp, [](json& d) { d["version"] = 2; }, Err::Format,
                   {"/version:", "version 2", "version 1", "upgrade"}));
  c.push_back(edit("version zero", mlp, [](json& d) { d["version"] = 0; }, Err::Format,
                   {"/version: unsupported format version 0"}));
  c.push_back(edit("version as a string", mlp, [](json& d) { d["version"] = "1"; }, Err::Format,
                   {"/version: expected an integer, got a string"}));
  c.push_back(edit("unknown top-level key", mlp, [](json& d) { d["weights"] = 1; }, Err::Format,
                   {"/weights: unknown key \"weights\""}));
  c.push_back(edit("missing graph", mlp, [](json& d) { d.erase("graph"); }, Err::Format,
                   {": /: missing key \"graph\""}));
  c.push_back(edit("graph is a list", mlp, [](json& d) { d["graph"] = json::array(); }, Err::Format,
                   {"/graph: expected an object, got an array"}));
  c.push_back(edit("training is a list", mlp, [](json& d) { d["training"] = json::array(); },
                   Err::Format, {"/training: expected an object"}));
  // ---- declarations
  c.push_back(edit("missing graph inputs", mlp, [](json& d) { d["graph"].erase("inputs"); },
                   Err::Format, {"/graph: missing key \"inputs\""}));
  c.push_back(edit("inputs not a list", mlp, [](json& d) { d["graph"]["inputs"] = 3; }, Err::Format,
                   {"/graph/inputs: expected an array, got an integer"}));
  c.push_back(edit("input name is a number", mlp, [](json& d) { d["graph"]["inputs"][0]["name"] = 5; },
                   Err::Format, {"/graph/inputs/0/name: expected a string"}));
  c.push_back(edit("empty input name", mlp, [](json& d) { d["graph"]["inputs"][0]["name"] = ""; },
                   Err::Graph, {": /graph: input '': a value has an empty name"}));
  c.push_back(edit("negative dimension", mlp, [](json& d) { d["graph"]["inputs"][0]["shape"][1] = -3; },
                   Err::Format, {"/graph/inputs/0/shape/1: negative dimension -3"}));
  c.push_back(edit("fractional dimension", mlp, [](json& d) { d["graph"]["inputs"][0]["shape"][1] = 2.5; },
                   Err::Format, {"/graph/inputs/0/shape/1: expected an integer, got a number"}));
  c.push_back(edit("boolean dimension", mlp, [](json& d) { d["graph"]["inputs"][0]["shape"][1] = true; },
                   Err::Format, {"/graph/inputs/0/shape/1: expected an integer, got a boolean"}));
  c.push_back(edit("symbolic batch in a parameter", mlp,
                   [](json& d) { d["graph"]["parameters"][0]["shape"][0] = "N"; }, Err::Format,
                   {"/graph/parameters/0/shape/0: only a graph input may have a symbolic batch"}));
  c.push_back(edit("a dimension that is another string", mlp,
                   [](json& d) { d["graph"]["inputs"][0]["shape"][0] = "batch"; }, Err::Format,
                   {"/graph/inputs/0/shape/0: expected a dimension"}));
  c.push_back(edit("huge shape", mlp,
                   [](json& d) { d["graph"]["inputs"][0]["shape"] = {4294967296LL, 4294967296LL}; },
                   Err::Format, {"/graph/inputs/0/shape: shape has more elements than the limit of"}));
  c.push_back(edit("unknown key in a declaration", mlp,
                   [](json& d) { d["graph"]["parameters"][1]["dtype"] = "float32"; }, Err::Format,
                   {"/graph/parameters/1/dtype: unknown key"}));
  c.push_back(edit("duplicate declared name", mlp,
                   [](json& d) { d["graph"]["parameters"][1]["name"] = "x"; }, Err::Graph,
                   {": /graph: parameter 'x': duplicate value name 'x'"}));
  // ---- nodes
  c.push_back(edit("node is a string", mlp, [](json& d) { d["graph"]["nodes"][1] = "relu"; },
                   Err::Format, {"/graph/nodes/1: expected an object, got a string"}));
  c.push_back(edit("node without op", mlp, [](json& d) { d["graph"]["nodes"][0].erase("op"); },
                   Err::Format, {"/graph/nodes/0: missing key \"op\""}));
  c.push_back(edit("unknown op", mlp, [](json& d) { d["graph"]["nodes"][2]["op"] = "no_such_op"; },
                   Err::Format, {"/graph/nodes/2/op: unknown op 'no_such_op'"}));
  c.push_back(edit("wrong arity", mlp, [](json& d) { d["graph"]["nodes"][0]["inputs"].push_back("x"); },
                   Err::Graph, {": /graph: matmul 'fc1.matmul': takes 2 inputs, got 3"}));
  c.push_back(edit("no outputs", mlp, [](json& d) { d["graph"]["nodes"][2]["outputs"] = json::array(); },
                   Err::Graph, {": /graph: relu 'act1': has 1 outputs, got 0"}));
  c.push_back(edit("input reference is a number", mlp, [](json& d) { d["graph"]["nodes"][2]["inputs"][0] = 1; },
                   Err::Format, {"/graph/nodes/2/inputs/0: expected a string"}));
  c.push_back(edit("dangling input reference", mlp, [](json& d) { d["graph"]["nodes"][1]["inputs"][0] = "ghost"; },
                   Err::Graph, {": /graph: add_bias 'fc1': input 'ghost' is not a value of the graph"}));
  c.push_back(edit("node output shadows a parameter", mlp,
                   [](json& d) { d["graph"]["nodes"][0]["outputs"][0] = "fc2.bias"; }, Err::Graph,
                   {": /graph: node 'fc1.matmul': duplicate value name 'fc2.bias'"}));
  c.push_back(edit("duplicate node name", mlp, [](json& d) { d["graph"]["nodes"][1]["name"] = "fc1.matmul"; },
                   Err::Graph, {": /graph: duplicate node name 'fc1.matmul'"}));
  c.push_back(edit("unknown key in a node", mlp, [](json& d) { d["graph"]["nodes"][3]["attr"] = json::object(); },
                   Err::Format, {"/graph/nodes/3/attr: unknown key \"attr\""}));
  c.push_back(edit("unknown graph output", mlp, [](json& d) { d["graph"]["outputs"][0] = "logits"; },
                   Err::Graph, {": /graph: graph output 'logits' is not a value of the graph"}));
  c.push_back(edit("graph outputs is a string", mlp, [](json& d) { d["graph"]["outputs"] = "fc2"; },
                   Err::Format, {"/graph/outputs: expected an array, got a string"}));
  // ---- attributes
  c.push_back(edit("unknown attribute", mlp, [](json& d) { d["graph"]["nodes"][2]["attrs"]["alpha"] = 0.1; },
                   Err::Format, {"/graph/nodes/2/attrs/alpha: unknown attribute 'alpha' of op 'relu' (it has none)"}));
  c.push_back(edit("attrs is a list", mlp, [](json& d) { d["graph"]["nodes"][2]["attrs"] = json::array(); },
                   Err::Format, {"/graph/nodes/2/attrs: expected an object, got an array"}));
  c.push_back(edit("Ints attribute given an integer", cnn,
                   [](json& d) { d["graph"]["nodes"][node(d, "pool")]["attrs"]["kernel"] = 2; }, Err::Format,
                   {"/attrs/kernel: expected a list of integers, got an integer"}));
  c.push_back(edit("Ints attribute with a fraction", cnn,
                   [](json& d) { d["graph"]["nodes"][node(d, "conv")]["attrs"]["stride"] = {1, 1.5}; },
                   Err::Format, {"/attrs/stride: expected a list of integers"}));
  c.push_back(edit("Float attribute given a string", cnn,
                   [](json& d) { d["graph"]["nodes"][node(d, "bn")]["attrs"]["eps"] = "1e-5"; }, Err::Format,
                   {"/attrs/eps: expected a number, got a string"}));
  c.push_back(edit("Int attribute given a float", tagged,
                   [](json& d) { d["graph"]["nodes"][node(d, "t")]["attrs"]["k"] = 3.0; }, Err::Format,
                   {"/graph/nodes/0/attrs/k: expected an integer, got a number"}));
  c.push_back(edit("String attribute given a list", tagged,
                   [](json& d) { d["graph"]["nodes"][node(d, "t")]["attrs"]["label"] = {1}; }, Err::Format,
                   {"/graph/nodes/0/attrs/label: expected a string, got an array"}));
  c.push_back(edit("missing required attribute", cnn,
                   [](json& d) { d["graph"]["nodes"][node(d, "pool")]["attrs"].erase("kernel"); }, Err::Graph,
                   {": /graph: max_pool2d 'pool': missing attribute 'kernel'"}));
  // ---- tensors
  c.push_back(edit("missing parameters", mlp, [](json& d) { d.erase("parameters"); }, Err::Format,
                   {": /: missing key \"parameters\""}));
  c.push_back(edit("data too short", mlp, [](json& d) { d["parameters"]["fc1.weight"]["data"].erase(0); },
                   Err::Format, {"/parameters/fc1.weight/data: 5 values for shape [2, 3] (6 expected)"}));
  c.push_back(edit("shape differs from the declaration", mlp,
                   [](json& d) { d["parameters"]["fc1.weight"]["shape"] = {3, 2}; }, Err::Format,
                   {"/parameters/fc1.weight/shape: shape [3, 2] differs from the declaration [2, 3] at /graph/parameters/0/shape"}));
  c.push_back(edit("declared parameter without data", mlp, [](json& d) { d["parameters"].erase("fc2.bias"); },
                   Err::Format, {"/parameters: no data for parameter 'fc2.bias' declared at /graph/parameters/3"}));
  c.push_back(edit("data for an undeclared parameter", mlp,
                   [](json& d) { d["parameters"]["a/b"] = d["parameters"]["fc2.bias"]; }, Err::Format,
                   {"/parameters/a~1b: parameter 'a/b' is not declared in /graph/parameters"}));
  c.push_back(edit("parameter data under state", mlp,
                   [](json& d) { d["state"]["fc2.bias"] = d["parameters"]["fc2.bias"]; }, Err::Format,
                   {"/state/fc2.bias: state 'fc2.bias' is not declared in /graph/state"}));
  c.push_back(edit("declared state without data", cnn, [](json& d) { d["state"].erase("bn.running_var"); },
                   Err::Format, {"/state: no data for state 'bn.running_var'"}));
  c.push_back(edit("a value that is a string", mlp, [](json& d) { d["parameters"]["fc1.bias"]["data"][1] = "0"; },
                   Err::Format, {"/parameters/fc1.bias/data/1: expected a number, got a string"}));
  c.push_back(edit("a value too large for float32", mlp,
                   [](json& d) { d["parameters"]["fc1.bias"]["data"][2] = 1e39; }, Err::Format,
                   {"/parameters/fc1.bias/data/2: value 1e+39 does not fit a float32"}));
  c.push_back(edit("dtype float64", mlp, [](json& d) { d["parameters"]["fc1.bias"]["dtype"] = "float64"; },
                   Err::Format, {"/parameters/fc1.bias/dtype: unsupported dtype \"float64\""}));
  c.push_back(edit("missing data", mlp, [](json& d) { d["parameters"]["fc1.bias"].erase("data"); },
                   Err::Format, {"/parameters/fc1.bias: missing key \"data\""}));
  c.push_back(edit("unknown key in a tensor", mlp, [](json& d) { d["parameters"]["fc1.bias"]["grad"] = 0; },
                   Err::Format, {"/parameters/fc1.bias/grad: unknown key"}));
  c.push_back(edit("tensor entry is a list", mlp, [](json& d) { d["parameters"]["fc1.bias"] = {0, 0, 0}; },
                   Err::Format, {"/parameters/fc1.bias: expected an object, got an array"}));
  // ---- found by the planner
  c.push_back(edit("a cycle", mlp, [](json& d) { d["graph"]["nodes"][0]["inputs"][0] = "fc2"; }, Err::Graph,
                   {": /graph/nodes: ", "cycle"}));
  c.push_back(edit("shapes that do not fit an op", mlp,
                   [](json& d) {
                     d["graph"]["parameters"][2]["shape"] = {4, 1};
                     d["parameters"]["fc2.weight"] = {{"shape", {4, 1}}, {"dtype", "float32"}, {"data", {1, 2, 3, 4}}};
                   },
                   Err::Shape, {": /graph/nodes/3: ", "matmul 'fc2.matmul'"}));
  c.push_back(edit("an attribute the shape rule refuses", cnn,
                   [](json& d) { d["graph"]["nodes"][node(d, "bn")]["attrs"]["eps"] = -1; }, Err::Shape,
                   {": " + node_path(cnn(), "bn") + ": ", "batchnorm 'bn'", "eps"}));
  // The path is the node's place in the document, not in the execution order.
  c.push_back(edit("shapes that do not fit, nodes listed in reverse", mlp,
                   [](json& d) {
                     d["graph"]["parameters"][2]["shape"] = {4, 1};
                     d["parameters"]["fc2.weight"] = {{"shape", {4, 1}}, {"dtype", "float32"}, {"data", {1, 2, 3, 4}}};
                     json& nodes = d["graph"]["nodes"];
                     nodes = json(std::vector<json>(nodes.rbegin(), nodes.rend()));
                   },
                   Err::Shape, {": /graph/nodes/1: ", "matmul 'fc2.matmul'"}));
  // Shapes are checked at both nominal batch sizes: a reshape that fits only a batch of 2.
  c.push_back(edit("a reshape that holds the batch size", cnn,
                   [](json& d) {
                     json& flat = d["graph"]["nodes"][node(d, "flat")];
                     flat["op"] = "reshape";
                     flat["attrs"] = {{"shape", {2, 18}}};
                   },
                   Err::Shape, {": " + node_path(cnn(), "flat") + ": ", "reshape 'flat'"}));
  return c;
}

// The message of the expected error type; fails the test on no error or another type.
std::string message_of(const Case& c) {
  const std::string doc = c.document();
  try {
    (void)model_from_json(doc, "case.json");
  } catch (const FormatError& e) {
    CHECK(c.error == Err::Format);
    return e.what();
  } catch (const ShapeError& e) {
    CHECK(c.error == Err::Shape);
    return e.what();
  } catch (const GraphError& e) {
    CHECK(c.error == Err::Graph);
    return e.what();
  }
  FAIL("no error for: " << doc);
  return {};
}

}  // namespace

TEST_CASE("serialization: malformed documents raise typed errors with JSON paths",
          "[serialization]") {
  const std::vector<Case> all = cases();
  CHECK(all.size() >= 30);
  for (const Case& c : all) {
    INFO("case: " << c.what);
    const std::string msg = message_of(c);
    INFO("message: " << msg);
    CHECK(msg.rfind("case.json: ", 0) == 0);
    for (const std::string& s : c.expected) CHECK_THAT(msg, Catch::Matchers::Contains(s));
  }
}

TEST_CASE("serialization: the shape error of the matching case names the node", "[serialization]") {
  // Sanity for the table above: the base documents themselves load.
  CHECK_NOTHROW(model_from_json(mlp().dump(), "mlp"));
  CHECK_NOTHROW(model_from_json(cnn().dump(), "cnn"));
  CHECK_NOTHROW(model_from_json(tagged().dump(), "tagged"));
  CHECK(node_path(cnn(), "conv") == "/graph/nodes/0");
}

TEST_CASE("serialization: every prefix of a valid document fails cleanly", "[serialization]") {
  std::string doc = model_to_json(ser_cnn());
  doc.pop_back();  // the final newline: without it the document is still whole
  std::size_t failures = 0;
  for (std::size_t n = 0; n < doc.size(); ++n) {
    try {
      (void)model_from_json(doc.substr(0, n), "prefix");
    } catch (const Error&) {
      ++failures;
    }
  }
  CHECK(failures == doc.size());
  CHECK_NOTHROW(model_from_json(doc, "whole"));
}
