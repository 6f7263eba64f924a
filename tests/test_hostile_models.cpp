// Model files crafted to hurt: every one is a typed error naming the file and where in it,
// never a crash, a hang or an allocation past the limits (core/limits.hpp).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "core/limits.hpp"
#include "engine/executor.hpp"
#include "engine/optimizer.hpp"
#include "planner/plan.hpp"
#include "serialization/model_json.hpp"
#include "tests/error_message.hpp"
#include "tests/serialization_models.hpp"
#include "tests/temp_dir.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

struct LimitsGuard {
  Limits saved = limits();
  ~LimitsGuard() { set_limits(saved); }
};

json cnn_document() { return json::parse(model_to_json(ser_cnn())); }

}  // namespace

TEST_CASE("JSON nested past the depth limit is refused while it is parsed", "[hostile][limits]") {
  // The reported case: a `training` object 200,000 levels deep (2 MB), which once
  // overflowed the stack of `plangrad inspect`.
  std::string text = model_to_json(ser_mlp());
  text.erase(text.rfind('}'));  // the document's closing brace
  text += ", \"training\": {\"a\": " + std::string(200000, '[') + std::string(200000, ']') + "}}";
  CHECK_THAT(error_message<FormatError>([&] { model_from_json(text, "deep.json"); }),
             Contains("deep.json") && Contains("nested deeper than the limit of 64") && Contains("--limit json-depth="));
  // Within the limit, the same shape of document loads.
  json shallow = json::parse(model_to_json(ser_mlp()));
  shallow["training"] = {{"a", json::parse(std::string(50, '[') + std::string(50, ']'))}};
  CHECK_NOTHROW(model_from_json(shallow.dump(), "shallow.json"));
}

TEST_CASE("a model file past the size limit is refused before it is read", "[hostile][limits]") {
  const LimitsGuard guard;
  TempDir dir;
  const std::string path = dir.file("m.json");
  save_model(ser_mlp(), path);
  Limits small = limits();
  small.model_file_bytes = std::filesystem::file_size(path) - 1;
  set_limits(small);
  CHECK_THAT(error_message<DataError>([&] { load_model(path); }),
             Contains(path) && Contains("--limit model-file-bytes="));
  small.model_file_bytes += 1;
  set_limits(small);
  CHECK_NOTHROW(load_model(path));
}

TEST_CASE("node counts and name lengths past their limits name the JSON path", "[hostile][limits]") {
  const LimitsGuard guard;
  Limits small = limits();
  small.nodes = 3;
  set_limits(small);
  json d = cnn_document();
  CHECK_THAT(error_message<FormatError>([&] { model_from_json(d.dump(), "c.json"); }),
             Contains("c.json: /graph/nodes: 7 nodes, more than the limit of 3") && Contains("--limit nodes="));
  small.nodes = 100;
  small.name_length = 10;
  set_limits(small);
  CHECK_THAT(error_message<FormatError>([&] { model_from_json(d.dump(), "c.json"); }),
             Contains("/graph/parameters/0/name") && Contains("longer than the limit of 10"));
}

TEST_CASE("a negative running variance in a model file is refused, naming it", "[hostile]") {
  json d = cnn_document();
  d["state"]["bn.running_var"]["data"] = {0.5, -1.0};
  CHECK_THAT(error_message<FormatError>([&] { model_from_json(d.dump(), "c.json"); }),
             Contains("c.json: /state/bn.running_var: batchnorm 'bn'") && Contains("running_var[1]") &&
                 Contains("negative"));
  d["state"]["bn.running_var"]["data"] = {0.5, 0.0};
  CHECK_NOTHROW(model_from_json(d.dump(), "c.json"));
}

TEST_CASE("every crash shape in the fuzzers' seed corpus is a typed error", "[hostile]") {
  // The seeds named crash_* reproduce the reports that led to the limits and checked sizes:
  // loading, planning and one step of each must end in a plangrad::Error.
  std::size_t seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(PLANGRAD_SOURCE_DIR "/tests/fuzz/model_corpus")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("crash_", 0) != 0) continue;
    ++seeds;
    INFO(name);
    bool typed = false;
    try {
      Model model = load_model(entry.path().string());
      PlanRequest r;
      r.kind = PlanKind::Training;
      r.batch = 2;
      SGD<float> sgd(model, SgdOptions{0.01, 0.0, 0.0});
      Executor<float> ex(model, make_plan(model.graph, r), &sgd);
      ex.run();
    } catch (const Error& e) {
      typed = true;
      UNSCOPED_INFO(e.what());
    }
    CHECK(typed);
  }
  CHECK(seeds >= 6);
}
