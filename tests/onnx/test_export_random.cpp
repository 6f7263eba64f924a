// Export round trip of seeded random graphs (tests/onnx/random_dag.hpp) built from every op
// save_onnx maps, in ONNX Runtime against plangrad's inference plan: batch 1 and 64 with
// the batch symbolic, 64 fixed, opsets 13 to 17 in turn. Prints the largest relative
// difference over all graphs (a WARN line): build/tests/onnx_tests "[export][random]"
#include <catch2/catch.hpp>

#include <cstdio>
#include <set>
#include <string>

#include "onnx/export_graph.hpp"
#include "tests/onnx/export_compare.hpp"
#include "tests/onnx/random_dag.hpp"
#include "tests/temp_dir.hpp"

namespace {

constexpr double kTolerance = 1e-5;
constexpr std::uint64_t kGraphs = 40;

}  // namespace

TEST_CASE("export round trip: random graphs of every mapped op", "[export][random]") {
  plangrad::testing::TempDir dir;
  std::set<std::string> ops;
  double largest = 0.0;
  std::string where;
  for (std::uint64_t seed = 1; seed <= kGraphs; ++seed) {
    plangrad::Model model = plangrad::testing::RandomDag(seed).make();
    plangrad::testing::perturb(model, seed);
    const int opset = 13 + static_cast<int>(seed % 5);
    struct Case {
      std::int64_t fixed_batch, batch;
    };
    for (const Case c : {Case{0, 1}, Case{0, 64}, Case{64, 64}}) {
      plangrad::OnnxExportOptions options;
      options.opset = opset;
      options.batch = c.fixed_batch;
      const std::string label = "graph " + std::to_string(seed) + ", opset " + std::to_string(opset) + ", batch " +
                                std::to_string(c.batch) + (c.fixed_batch ? " fixed" : " symbolic");
      INFO(label);
      const plangrad::testing::RoundTrip r =
          plangrad::testing::round_trip(model, dir.file("g.onnx"), options, c.batch, seed * 100);
      CHECK(r.rel <= kTolerance);
      ops.insert(r.ops.begin(), r.ops.end());
      if (r.rel >= largest) {
        largest = r.rel;
        where = label + ", output " + r.worst;
      }
    }
  }
  // The exported graphs hold every op that has a mapping, and the pools with padding.
  std::vector<std::string> wanted = plangrad::onnx_export::exportable_ops();
  for (const char* pool : {"max_pool2d padded", "avg_pool2d padded count_include_pad=0",
                           "avg_pool2d padded count_include_pad=1"})
    wanted.push_back(pool);
  for (const std::string& op : wanted) {
    INFO("op " << op);
    CHECK(ops.count(op) == 1);
  }
  char figure[64];
  std::snprintf(figure, sizeof figure, "%.3g", largest);
  WARN("onnx export random graphs (" << kGraphs << "): largest relative difference " << figure << " (" << where
                                     << ")");
}
