// concat in a graph: a node with three inputs through the builder, the planner (arity,
// gradients, liveness) and the executor; its parameters' gradients against central
// differences, and a node with no input refused.
#include <cmath>

#include <catch2/catch.hpp>

#include "core/errors.hpp"
#include "engine/builder.hpp"
#include "engine/executor.hpp"
#include "tests/error_message.hpp"
#include "tests/executor_helpers.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

TEST_CASE("concat of three branches: gradients by central differences", "[executor][concat][gradcheck]") {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 3}), y = b.input("y", {kBatchDim, 2});
  Value h = b.concat({b.tanh(b.dense(x, 4, "a")), b.dense(x, 2, "b"), x}, 1, "cat");
  b.output(b.mse_loss(b.dense(h, 2, "out"), y, "loss"));
  BasicModel<double> m = b.build(3).cast<double>();
  Executor<double> e(m, plan_for<double>(m.graph, PlanKind::Gradients, 5));
  for (std::size_t i = 0; i < 15; ++i) e.input("x")[i] = std::sin(1.0 + double(i));
  for (std::size_t i = 0; i < 10; ++i) e.input("y")[i] = std::cos(double(i));
  e.run();
  for (const char* p : {"a.weight", "b.weight", "b.bias", "out.weight"}) {
    INFO(p);
    const std::vector<double> g = copy_of(e.grad(p));
    Tensor<double>& w = m.parameters.at(p);
    double worst = 0, largest = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double keep = w.data()[i], h = 1e-6;
      w.data()[i] = keep + h;
      e.run();
      const double up = e.loss();
      w.data()[i] = keep - h;
      e.run();
      const double down = e.loss();
      w.data()[i] = keep;
      worst = std::max(worst, std::abs((up - down) / (2 * h) - g[i]));
      largest = std::max(largest, std::abs(g[i]));
    }
    CHECK(largest > 0);
    CHECK(worst < 1e-6 * std::max(1.0, largest));
  }
  GraphBuilder none;
  CHECK_THAT(error_message<GraphError>([&] { none.concat({}); }), Contains("takes 1 or more inputs, got 0"));
}
