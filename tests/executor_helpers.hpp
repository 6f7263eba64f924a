// What the executor tests share: a plan for a graph in one call, a tensor's values copied
// out, the Euclidean norm the gradient checks compare by, and a network's logits from a
// plan with the gap between two runs' logits.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"
#include "engine/executor.hpp"
#include "planner/plan.hpp"

namespace plangrad::testing {

// A plan of `kind` at `batch` for elements of T, with or without memory reuse.
template <class T>
Plan plan_for(const Graph& graph, PlanKind kind, std::int64_t batch, bool reuse = true,
              std::vector<std::string> outputs = {}, std::vector<std::string> input_gradients = {}) {
  PlanRequest r;
  r.kind = kind;
  r.batch = batch;
  r.reuse_memory = reuse;
  r.elem_bytes = sizeof(T);
  r.outputs = std::move(outputs);
  r.input_gradients = std::move(input_gradients);
  return make_plan(graph, r);
}

template <class T>
std::vector<T> copy_of(const TensorRef<const T>& t) {
  return std::vector<T>(t.begin(), t.end());
}

inline double norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

// The "logits" that `plan` computes for the input "x" (the networks/ models' names).
template <class T>
std::vector<T> logits_of(BasicModel<T>& m, const Plan& plan, const std::vector<T>& x) {
  Executor<T> ex(m, plan);
  ex.set_input("x", x.data(), x.size());
  ex.run();
  return copy_of(ex.value("logits"));
}

// max |a - b| over max |b|.
template <class T>
double relative_gap(const std::vector<T>& a, const std::vector<T>& b) {
  double gap = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    gap = std::max(gap, std::abs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return gap / scale;
}

}  // namespace plangrad::testing
