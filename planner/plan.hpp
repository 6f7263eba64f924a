// Plan: everything an executor needs to run a graph — the steps, every tensor's place in
// one arena, and the statistics of that arena.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "planner/passes.hpp"

namespace plangrad {

enum class PlanKind {
  Inference,  // forward only
  Gradients,  // forward + backward; parameter (and requested input) gradients readable
  Training,   // forward + backward + an optimizer update per parameter
};
const char* plan_kind_name(PlanKind kind);

struct PlanRequest {
  PlanKind kind = PlanKind::Inference;
  // Train or Eval; by default Eval for inference plans and Train otherwise.
  int mode = -1;  // -1: default, else static_cast<int>(Mode)
  // Values to keep readable after a run. For inference plans, what to compute (default:
  // the graph's outputs).
  std::vector<std::string> outputs;
  // The scalar to differentiate (gradient and training plans; default: the graph's first
  // output).
  std::string loss;
  // Inputs whose gradient is wanted as well (gradient plans).
  std::vector<std::string> input_gradients;
  // Binds a symbolic batch dimension in input shapes.
  std::int64_t batch = 0;
  // false: every tensor its own buffer, no in-place ops (the naive baseline).
  bool reuse_memory = true;
  // false: every node its own steps; true: an add_bias and the activation after it run as
  // one step (planner/fuse.cpp). Either way a run computes the same bits.
  bool fuse = true;
  std::size_t elem_bytes = sizeof(float);
};

struct PlanStats {
  std::size_t naive_bytes = 0;        // every tensor its own buffer
  std::size_t arena_bytes = 0;        // what this plan allocates
  std::size_t lower_bound_bytes = 0;  // the most bytes live at any one step
  // Tensors not external; slots of memory they share; tensors sharing a slot with another;
  // tensors given no memory because fuse merged away every step that touched them.
  std::size_t tensors = 0, slots = 0, inplace = 0, fused_away = 0;
  std::size_t fused_steps = 0;  // steps that run an add_bias and an activation together
  double planning_ms = 0.0;
  std::string strategy;
};

// What each pass produced; the executor reads the schedule and the offsets.
struct Plan {
  PlanKind kind = PlanKind::Inference;
  Mode mode = Mode::Eval;
  std::size_t elem_bytes = sizeof(float);
  IndexedGraph graph;
  Schedule schedule;
  std::vector<Interval> live;  // per tensor
  Slots slots;
  // Per tensor, its placement: a byte offset in the arena, or none (external tensors,
  // which live in the model, and tensors no step touches).
  std::vector<std::optional<std::size_t>> offset;
  std::size_t arena_bytes = 0;
  PlanStats stats;

  int tensor_of_value(const std::string& name) const;  // -1 when the plan has none
  int tensor_of_grad(const std::string& name) const;   // -1 when the plan has none
  bool kept(int tensor) const;                          // readable after a run
};

Plan make_plan(const Graph& graph, const PlanRequest& request);

// The step table and the statistics, as text or as one JSON document.
std::string plan_table(const Plan& plan);
std::string plan_json(const Plan& plan);

}  // namespace plangrad
