// The schedule: the tensors of a plan and the steps that read and write them; and the
// passes that build it:
//
//   build_forward -> build_backward (gradient and training plans) -> fuse
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/visibility.hpp"
#include "planner/indexed_graph.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

enum class TensorRole : std::uint8_t { Input, Parameter, State, Activation, Gradient, Workspace, Saved };
const char* role_name(TensorRole role);

struct TensorInfo {
  std::string name;  // value name; "grad:<value>"; "ws:<node>:fwd" / ":bwd"; "saved:<node>"
  Shape shape;
  int value = -1;  // the value it holds (or is the gradient of); -1 for scratch
  TensorRole role = TensorRole::Activation;
  // Parameters and state live in the model, not in the plan's arena.
  bool external() const { return role == TensorRole::Parameter || role == TensorRole::State; }
};

enum class StepKind { Forward, Backward, Fill, Update };
const char* step_kind_name(StepKind kind);

// Tensor ids index Schedule::tensors; -1 means none.
struct Step {
  StepKind kind = StepKind::Forward;
  int node = -1;  // Forward, Backward
  // Forward, Backward: the node fused into this step (see fuse), or -1. An add_bias: `node`
  // is the activation after it, whose OpDef::after_bias kernels run, reading add_bias's
  // inputs (in) and writing its input gradients (d_in). A relu: `node` is the op after it
  // (max_pool2d), whose OpDef::after_relu kernels run, reading relu's input and writing its
  // gradient. A max_pool2d: `node` is the op (batchnorm, conv2d) whose output a relu
  // reads, whose output that max_pool2d reads; `node`'s OpDef::then_relu_pool kernels run,
  // reading `node`'s inputs and writing their gradients, out and d_out being the
  // max-pool's.
  int fused = -1;
  std::vector<int> in, out;      // the node's inputs and outputs
  std::vector<int> d_out, d_in;  // Backward: their gradients, -1 where there is none
  std::vector<char> accumulate;  // Backward, per d_in: 1 adds to the gradient, 0 overwrites it
  int workspace = -1;
  int saved = -1;          // written by the forward step, read by the backward step
  int target = -1;         // Fill: the tensor; Update: the parameter
  int grad = -1;           // Update: the parameter's gradient
  float fill_value = 0.0f;  // Fill (the loss's seed, 1)
};

// Plain data: a test may build one by hand.
struct Schedule {
  Mode mode = Mode::Eval;
  std::vector<TensorInfo> tensors;
  std::vector<Step> steps;
  std::vector<int> value_tensor;  // per value: its tensor, or -1
  std::vector<int> grad_tensor;   // per value: its gradient's tensor, or -1
  std::vector<int> keep;          // tensors the caller reads after a run: live to the end
  int loss = -1;                  // the loss's tensor (gradient and training plans)

  int add_tensor(TensorInfo tensor);  // its id
  void add_keep(int tensor);          // once
};

// For the passes that build steps: a Workspace or Saved tensor of `node`'s step, sized by
// the op's `size` function from the shapes of the step's inputs `in` (tensor ids) and the
// node's attributes, named prefix + node name + suffix; or -1 when the op asks for none
// (no size function, or 0 elements).
int add_scratch(Schedule& s, SizeFn size, const NodeInfo& node, const std::vector<int>& in, TensorRole role,
                const char* prefix, const char* suffix);

// A Forward step per node of `order`; a tensor per value they touch, with its shape from
// `shapes` (infer_shapes); Workspace and Saved tensors where the ops ask for them. `keep`
// names values the caller reads after a run.
Schedule build_forward(const IndexedGraph& g, const std::vector<int>& order,
                       const std::vector<Shape>& shapes, Mode mode, const std::vector<int>& keep);

struct BackwardRequest {
  int loss = -1;               // value index of the scalar loss
  bool parameters = true;      // gradients for every parameter reached
  std::vector<int> inputs;     // input values that want a gradient too
  bool update = false;         // an Update step per parameter after its last gradient
  bool keep_gradients = true;  // parameter and input gradients live to the end (readable)
  // The Update steps after the last Backward step, in the order they would have had: every
  // parameter gradient is then complete and alive at once (global-norm clipping reads them
  // all before the first update), at the cost of a larger arena.
  bool updates_last = false;
  // Parameters (value indices) that get no gradient, no Backward step that only feeds
  // them, and no Update step.
  std::vector<int> frozen;
};

// Appends a Fill of the loss's gradient with 1, then walks the forward steps in reverse:
// a Backward step for every node with an output that has a gradient and an input that
// needs one. A value that fans out gets its gradient overwritten by the first
// contribution and added to by the rest. A missing backward rule is a GraphError naming
// the op and the node; a loss that is not a scalar, a ShapeError.
Schedule build_backward(const IndexedGraph& g, Schedule forward, const BackwardRequest& request);

// Merges an add_bias step and the step right after it, an op with OpDef::after_bias
// kernels (relu, sigmoid, tanh) whose input is add_bias's output z, into one step; their
// backward steps likewise. Only when no other node reads z and neither z nor its gradient
// is kept: then no step touches them, and liveness gives them no memory.
// Then merges a relu step and the step right after it, an op with OpDef::after_relu
// kernels (max_pool2d) whose input is relu's output y, and their backward steps, on the
// same conditions for y; the forward pair only with the backward pair (the fused forward
// writes no y), and a relu already fused with an add_bias stays as it is.
// Before both: a batchnorm, the relu after it and the 2x2 stride-2 max_pool2d after that
// (OpDef::then_relu_pool), three forward steps and their three backward steps, on the
// same conditions for batchnorm's and relu's outputs, where the kernels take the shape
// (fuses_relu_pool) and batchnorm's gamma and beta are parameters; and a conv2d or
// conv2d_nobias, relu and 2x2 max_pool2d without backward steps (conv2d's then_relu_pool
// is a forward only), with the workspace its kernel asks for.
Schedule fuse(const IndexedGraph& g, Schedule s);

// Whether the step's fused node is a relu: it runs the node's OpDef::after_relu kernels
// (else, with a fused node, OpDef::after_bias or OpDef::then_relu_pool).
bool relu_fused(const IndexedGraph& g, const Step& step);

// Whether the step's fused node is a max_pool2d after a relu after the node: it runs the
// node's OpDef::then_relu_pool kernels.
bool relu_pool_fused(const IndexedGraph& g, const Step& step);

// The OpDef whose backward_reads_in and inplace flags describe step.in: the fused node's
// (add_bias's), else the node's own. A step with a fused relu reads relu's input as the
// node reads its own input: the node's; a step with a fused relu and max-pool reads the
// node's inputs.
const OpDef& in_op(const IndexedGraph& g, const Step& step);

}  // namespace plangrad
PLANGRAD_PUBLIC_END
