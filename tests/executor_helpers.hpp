// What the executor tests share: a plan for a graph in one call, a tensor's values copied
// out, and the Euclidean norm the gradient checks compare by.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"
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

}  // namespace plangrad::testing
