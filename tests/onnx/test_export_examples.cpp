// Export round trip of every example network (networks/): initialized from a seed, its
// parameters and statistics moved off their initial values (tests/onnx/export_compare.hpp),
// exported with save_onnx and run in ONNX Runtime on the inputs plangrad's inference plan
// gets, at batch 1 and 64 with the batch symbolic, at 64 fixed, at opsets 17 and 13. Each
// case prints its largest relative difference (a WARN line):
//   build/tests/onnx_tests "[export][examples]"
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "networks/builtin.hpp"
#include "networks/models.hpp"
#include "networks/tabular.hpp"
#include "tests/onnx/export_compare.hpp"
#include "tests/temp_dir.hpp"

namespace {

using plangrad::Model;
using plangrad::OnnxExportOptions;
using plangrad::testing::round_trip;
using plangrad::testing::RoundTrip;

constexpr double kTolerance = 1e-5;

// Every export of `model` this file checks, each within kTolerance; prints the largest.
void check_example(const std::string& name, Model model, double lo, double hi) {
  plangrad::testing::perturb(model, 7);
  plangrad::testing::TempDir dir;
  struct Case {
    int opset;
    std::int64_t fixed_batch, batch;
  };
  const Case cases[] = {{17, 0, 1}, {17, 0, 64}, {17, 64, 64}, {13, 0, 64}};
  double largest = 0.0;
  std::string where;
  for (const Case& c : cases) {
    OnnxExportOptions options;
    options.opset = c.opset;
    options.batch = c.fixed_batch;
    const std::string label = "opset " + std::to_string(c.opset) + ", batch " + std::to_string(c.batch) +
                              (c.fixed_batch ? " fixed" : " symbolic");
    INFO(name << ": " << label);
    const RoundTrip r = round_trip(model, dir.file(name + ".onnx"), options, c.batch, 1000, lo, hi);
    CHECK(r.values > 0);
    CHECK(r.rel <= kTolerance);
    if (r.rel >= largest) {
      largest = r.rel;
      where = label + ", output " + r.worst;
    }
  }
  char figure[64];
  std::snprintf(figure, sizeof figure, "%.3g", largest);
  WARN("onnx export " << name << ": largest relative difference " << figure << " (" << where << ")");
}

}  // namespace

TEST_CASE("export round trip: circle MLP", "[export][examples]") {
  check_example("circle", plangrad::models::builtin_model("circle", 1), -2, 2);
}

TEST_CASE("export round trip: circle batchnorm model", "[export][examples]") {
  check_example("circle-bn", plangrad::models::circle_bn().build(2), -2, 2);
}

TEST_CASE("export round trip: MNIST MLP with its normalize node", "[export][examples]") {
  check_example("mnist-mlp", plangrad::models::mnist_mlp({0.1307, 0.3081}).build(3), 0, 1);
}

TEST_CASE("export round trip: MNIST CNN with its normalize node", "[export][examples]") {
  check_example("mnist-cnn", plangrad::models::mnist_cnn({0.1307, 0.3081}).build(4), 0, 1);
}

TEST_CASE("export round trip: residual DAG", "[export][examples]") {
  check_example("residual", plangrad::models::builtin_model("residual", 5), -2, 2);
}

TEST_CASE("export round trip: ball CNN", "[export][examples]") {
  check_example("ball", plangrad::models::ball_cnn().build(6), 0, 1);
}

TEST_CASE("export round trip: plangrad new mlp regression with standardize", "[export][examples]") {
  plangrad::models::TabularMlp spec;
  spec.features = 5;
  spec.hidden = {16, 8};
  spec.batchnorm = true;
  spec.task = plangrad::Task::Regression;
  spec.outputs = 2;
  check_example("tabular-regression", plangrad::models::tabular_mlp(spec).build(7), -3, 3);
}
