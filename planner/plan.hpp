/// \file
/// Plan: everything an executor needs to run a graph — the steps, every tensor's place in
/// one arena, and the statistics of that arena.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/visibility.hpp"
#include "planner/passes.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

/// What a plan computes.
enum class PlanKind {
  Inference,  ///< forward only
  Gradients,  ///< forward + backward; parameter (and requested input) gradients readable
  Training,   ///< forward + backward + an optimizer update per parameter
};
/// "inference", "gradients", "training".
const char* plan_kind_name(PlanKind kind);

/// What make_plan is asked for.
struct PlanRequest {
  PlanKind kind = PlanKind::Inference;  ///< what the plan computes
  /// Train or Eval; by default Eval for inference plans and Train otherwise.
  int mode = -1;  ///< -1: default, else static_cast<int>(Mode)
  /// Values to keep readable after a run. For inference plans, what to compute (default:
  /// the graph's outputs).
  std::vector<std::string> outputs;
  /// The scalar to differentiate (gradient and training plans; default: the graph's first
  /// output).
  std::string loss;
  /// Inputs whose gradient is wanted as well (gradient plans).
  std::vector<std::string> input_gradients;
  /// Binds a symbolic batch dimension in input shapes.
  std::int64_t batch = 0;
  /// false: every tensor its own buffer, no in-place ops (the naive baseline).
  bool reuse_memory = true;
  /// false: every node its own steps; true: an add_bias and the activation after it run as
  /// one step, and so do a relu and the max_pool2d after it, and a batchnorm (in
  /// inference plans, a convolution too), the relu after it and a 2x2 max_pool2d after
  /// that (planner/fuse.cpp). Either way a run computes the same bits.
  bool fuse = true;
  /// Eval-mode inference plans: false keeps every batchnorm; true folds one that follows a
  /// convolution (whose output nothing else reads) into it: a small op computes the folded
  /// weights and bias from the live parameters and running statistics at every run, and the
  /// convolution alone does the rest (planner/fold_batchnorm.cpp). Outputs agree to float
  /// rounding, not bit for bit. Other plans ignore it.
  bool fold_batchnorm = true;
  /// Float plans: false keeps every conv2d; true runs a 3x3 stride-1 conv2d with 8 channels
  /// and 8 filters or more, and 128 outputs per filter or more over the batch, by Winograd's
  /// F(2x2, 3x3) (2.25x fewer multiplies; planner/winograd.cpp, ops/conv2d_winograd.hpp). In
  /// Eval-mode inference plans a small op transforms the filters at every run; in plans with
  /// a backward (padding 2 or less) the convolution's op becomes conv2d_by_winograd, whose
  /// forward, dx and dw are by F(2x2, 3x3). Values agree with the direct convolution's to
  /// float rounding, not bit for bit. Double plans and Train-mode inference plans ignore it.
  bool winograd = true;
  /// Training plans: every Update step after the last Backward step rather than right after
  /// its parameter's gradient is complete, so that all the gradients are alive at once --
  /// what clipping by the global norm needs (GradientClipping, engine/optimizer.hpp). The
  /// gradients then take more arena memory.
  bool updates_last = false;
  /// Gradient and training plans: parameters (by name; freeze_patterns resolves patterns)
  /// that get no gradient and no update. Backward steps that only feed them are left out.
  /// A GraphError for a name that is not a parameter of the graph.
  std::vector<std::string> frozen;
  std::size_t elem_bytes = sizeof(float);  ///< bytes per scalar: sizeof(float) or sizeof(double)
};

/// The graph's parameters that `patterns` name, in declaration order: a pattern is a
/// parameter's name, or a prefix ending in `*` ("fc1.*", "stem*"). A UsageError names a
/// pattern that matches no parameter.
std::vector<std::string> freeze_patterns(const Graph& graph, const std::vector<std::string>& patterns);

/// The plan's memory, against the naive layout and the lower bound, and its planning time.
struct PlanStats {
  std::size_t naive_bytes = 0;        ///< every tensor its own buffer
  std::size_t arena_bytes = 0;        ///< what this plan allocates
  std::size_t lower_bound_bytes = 0;  ///< the most bytes live at any one step
  /// Tensors not external.
  std::size_t tensors = 0, slots = 0, inplace = 0, fused_away = 0;
  /// \var slots
  /// Slots of memory they share.
  /// \var inplace
  /// Tensors sharing a slot with another.
  /// \var fused_away
  /// Tensors given no memory because fuse merged away every step that touched them.
  std::size_t fused_steps = 0;  ///< steps that run two nodes together (add_bias + activation, relu + max_pool2d)
  std::size_t folded = 0;       ///< batchnorms folded into the convolution before them
  double planning_ms = 0.0;     ///< make_plan's wall time
  std::string strategy;         ///< which offset heuristic won ("naive" without reuse_memory)
};

/// What each pass produced; the executor reads the schedule and the offsets.
struct Plan {
  PlanKind kind = PlanKind::Inference;     ///< as requested
  Mode mode = Mode::Eval;                  ///< Train or Eval, resolved
  std::size_t elem_bytes = sizeof(float);  ///< bytes per scalar
  IndexedGraph graph;                      ///< the validated graph, by index, with shapes
  Schedule schedule;                       ///< the steps, forward then backward and updates
  std::vector<Interval> live;  ///< per tensor
  Slots slots;                 ///< the memory slots tensors share
  /// Per tensor, its placement: a byte offset in the arena, or none (external tensors,
  /// which live in the model, and tensors no step touches).
  std::vector<std::optional<std::size_t>> offset;
  std::size_t arena_bytes = 0;  ///< the arena an executor allocates
  PlanStats stats;              ///< the figures plan_table prints

  int tensor_of_value(const std::string& name) const;  ///< -1 when the plan has none
  int tensor_of_grad(const std::string& name) const;   ///< -1 when the plan has none
  bool kept(int tensor) const;                          ///< readable after a run
};

/// Runs the planner's passes on `graph` for `request`. A GraphError for a graph that does
/// not validate or a request it cannot meet (no loss, no outputs, unknown names), a
/// ShapeError for shapes that do not fit or an arena past limits().arena_bytes.
Plan make_plan(const Graph& graph, const PlanRequest& request);

/// The step table and the statistics, as text or as one JSON document.
std::string plan_table(const Plan& plan);
/// \copydoc plan_table
std::string plan_json(const Plan& plan);

}  // namespace plangrad
PLANGRAD_PUBLIC_END
