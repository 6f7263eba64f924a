// What the Predictor tests share: the plain Executor's output (the bits a Predictor must
// reproduce), and a batchnorm network whose running statistics are not the initial ones,
// so that Eval and Train mode give different outputs at every batch size.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "engine/executor.hpp"
#include "networks/models.hpp"
#include "planner/plan.hpp"
#include "tests/random_values.hpp"

namespace plangrad::testing {

// An Eval-mode inference plan of the model's graph at batch n, computing `output` from x.
inline std::vector<float> executor_output(const Model& model, const std::string& input, const std::string& output,
                                          const std::vector<float>& x, std::size_t n) {
  PlanRequest r;
  r.kind = PlanKind::Inference;
  r.outputs = {output};
  r.batch = static_cast<std::int64_t>(n);
  Executor<float> ex(const_cast<Model&>(model), make_plan(model.graph, r));  // Eval mode: only read
  ex.set_input(input, x.data(), x.size());
  ex.run();
  const TensorRef<const float> y = ex.value(output);
  return std::vector<float>(y.begin(), y.end());
}

// circle_bn (dense -> batchnorm -> relu, one logit "logit" [N, 1] from "x" [N, 2]) after
// five Train-mode forward passes have moved its running statistics.
inline Model circle_bn_moved(std::uint64_t seed) {
  Model model = models::circle_bn().build(seed);
  PlanRequest r;
  r.kind = PlanKind::Inference;
  r.mode = static_cast<int>(Mode::Train);
  r.outputs = {"logit"};
  r.batch = 32;
  Executor<float> ex(model, make_plan(model.graph, r));
  for (std::uint64_t k = 0; k < 5; ++k) {
    const std::vector<float> x = random_values<float>(64, 90 + k, -2.0, 3.0);
    ex.set_input("x", x.data(), x.size());
    ex.run();
  }
  return model;
}

}  // namespace plangrad::testing
