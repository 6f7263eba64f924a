// The planner's passes. Each is a pure function from a structure to a structure, tested
// on its own; make_plan (planner/plan.hpp) composes them:
//
//   index_graph -> toposort -> prune -> infer_shapes -> build_forward -> build_backward
//     -> fuse -> liveness -> assign_slots (in-place reuse) -> assign_offsets -> Plan
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/graph.hpp"
#include "ops/op.hpp"
#include "planner/name_index.hpp"

namespace plangrad {

// ---- index_graph: validation and name resolution --------------------------------------

enum class ValueRole : std::uint8_t { Input, Parameter, State, Intermediate };

// A run of ids stored in a pool of the structure that holds it: [begin, begin + size).
// Steps (into Schedule::ids), nodes (into IndexedGraph::node_ids) and values' consumers
// (into IndexedGraph::consumer_ids) are ranges rather than vectors of their own, so a
// graph of 100k nodes makes no heap allocation per step, node or value and the records
// stay small (every pass walks them).
struct IdRange {
  std::uint32_t begin = 0;
  std::uint32_t size = 0;
};

// ValueInfo and NodeInfo are 64 bytes each, a cache line: what passes rarely read (a
// node's attributes, a value's consumers) lives beside them in IndexedGraph.
struct ValueInfo {
  std::string name;
  Shape declared;         // inputs, parameters, state
  int producer = -1;      // node index for intermediates
  ValueRole role = ValueRole::Intermediate;
};

struct NodeInfo {
  std::string name;
  const OpDef* op = nullptr;
  IdRange inputs;          // value indices, in IndexedGraph::node_ids: g.list(node.inputs)
  IdRange outputs;         // value indices, likewise
  std::uint32_t attrs = 0;  // in IndexedGraph::attr_sets: g.attrs(node)
};
static_assert(sizeof(ValueInfo) <= 64 && sizeof(NodeInfo) <= 64, "a record per cache line");

struct IndexedGraph {
  std::vector<ValueInfo> values;
  std::vector<NodeInfo> nodes;
  std::vector<int> outputs;  // the graph's declared outputs
  NameIndex value_index;  // value names -> indices into values
  std::vector<int> node_ids;           // node by node, its outputs then its inputs (NodeInfo)
  std::vector<IdRange> consumer_ranges;  // per value: its consumers in consumer_ids
  std::vector<int> consumer_ids;       // node indices, one entry per use, value by value
  // Normalized attributes (defaults filled in). Entry 0 is the empty set, which every
  // node without attributes shares.
  std::vector<Attrs> attr_sets;

  Span<const int> list(IdRange r) const { return {node_ids.data() + r.begin, r.size}; }
  Span<const int> consumers(int v) const {
    const IdRange r = consumer_ranges[static_cast<std::size_t>(v)];
    return {consumer_ids.data() + r.begin, r.size};
  }
  const Attrs& attrs(const NodeInfo& node) const { return attr_sets[node.attrs]; }

  int find_value(const std::string& name) const;  // -1 when absent
  int require_value(const std::string& name, const char* what) const;  // GraphError
};

// Unknown op, wrong arity, bad attributes, unknown or duplicate names: a GraphError that
// names the node and the offending name.
IndexedGraph index_graph(const Graph& graph);

// ---- toposort: Boost.Graph; a cycle is a GraphError naming the nodes on it -------------
std::vector<int> toposort(const IndexedGraph& g);

// ---- prune: the nodes of `order` that some root value depends on, in order --------------
std::vector<int> prune(const IndexedGraph& g, const std::vector<int>& order,
                       const std::vector<int>& roots);

// ---- infer_shapes: one shape per value; kBatchDim in input shapes becomes `batch` -------
// Values of nodes outside `order` keep an empty shape.
std::vector<Shape> infer_shapes(const IndexedGraph& g, const std::vector<int>& order,
                                std::int64_t batch);

// ---- symbolic_shapes: every value's shape with the batch left symbolic ------------------
// infer_shapes at both kNominalBatches (ops/op.hpp), merged by mark_batch_dims: the shapes a
// summary, a model check or an evaluation reads without choosing a batch size.
std::vector<Shape> symbolic_shapes(const IndexedGraph& g, const std::vector<int>& order);

// ---- the schedule: tensors and the steps that read and write them ----------------------

enum class TensorRole : std::uint8_t { Input, Parameter, State, Activation, Gradient, Workspace, Saved };
const char* role_name(TensorRole role);

// 64 bytes, a cache line: passes walk hundreds of thousands of these.
struct TensorInfo {
  std::string name;  // value name; "grad:<value>"; "ws:<node>:fwd"; "saved:<node>"
  Shape shape;
  int value = -1;  // the value it holds (or is the gradient of); -1 for scratch
  TensorRole role = TensorRole::Activation;
  bool external() const { return role == TensorRole::Parameter || role == TensorRole::State; }
};
static_assert(sizeof(TensorInfo) <= 64, "a record per cache line");

enum class StepKind { Forward, Backward, Fill, Update };
const char* step_kind_name(StepKind kind);

struct Step {
  StepKind kind = StepKind::Forward;
  int node = -1;          // Forward, Backward
  IdRange in, out;        // tensor ids of the node's inputs and outputs
  IdRange d_out, d_in;    // Backward: gradient tensors, -1 where there is none
  int workspace = -1;     // tensor id
  int saved = -1;         // tensor id
  int target = -1;        // Fill: the tensor; Update: the parameter's tensor
  int grad = -1;          // Update: the parameter's gradient tensor
  float fill_value = 0.0f;  // Fill (the loss's seed, 1)
  // Forward, Backward: the add_bias node fused into this step (see fuse below), or -1.
  // The step then reads add_bias's inputs (in) and writes its input gradients (d_in);
  // `node` is the activation, whose OpDef::after_bias kernels run.
  int fused = -1;
};
static_assert(sizeof(Step) <= 64, "a record per cache line");

struct Schedule {
  Mode mode = Mode::Eval;
  std::vector<TensorInfo> tensors;
  std::vector<Step> steps;
  std::vector<int> value_tensor;  // per value: its tensor, or -1
  std::vector<int> grad_tensor;   // per value: its gradient's tensor, or -1
  std::vector<int> keep;          // tensors the caller reads after the run: live to the end
  int loss = -1;                  // tensor id of the loss (training and gradient plans)
  std::vector<int> ids;           // every step's id lists (IdRange), back to back
  std::vector<char> accumulate;   // per entry of ids; for a d_in: add (1) or overwrite (0)

  Span<const int> list(IdRange r) const { return {ids.data() + r.begin, r.size}; }
  // Backward: per d_in entry, whether the gradient adds to what is there.
  Span<const char> accumulates(const Step& step) const {
    return {accumulate.data() + step.d_in.begin, step.d_in.size};
  }
  // Appends one entry to the list being built; `r` must be the last list appended to.
  void push(IdRange& r, int id, char add = 0) {
    if (r.size == 0) r.begin = static_cast<std::uint32_t>(ids.size());
    ids.push_back(id);
    accumulate.push_back(add);
    ++r.size;
  }
};

// Forward steps for `order`, one tensor per value, workspace and saved tensors as ops ask.
// `keep` names values the caller will read after the run. The tensors take their shapes
// from `shapes` (moved, not copied: pass infer_shapes' result with std::move).
// `room_for_backward` sizes the schedule's arrays for build_backward too, so that it
// appends to them without moving the forward part (tens of MB at 100k nodes).
Schedule build_forward(const IndexedGraph& g, const std::vector<int>& order,
                       std::vector<Shape> shapes, Mode mode,
                       const std::vector<int>& keep, bool room_for_backward = false);

struct BackwardRequest {
  int loss = -1;                  // value index of the scalar loss
  bool parameters = true;         // gradients for every parameter reached
  std::vector<int> inputs;        // input values that want a gradient too
  bool update = false;            // an Update step per parameter after its last gradient
  bool keep_gradients = true;     // parameter/input gradients live to the end (readable)
};

// Walks the forward order in reverse: for every node with an output that has a gradient
// and an input that needs one, a Backward step. Gradients of a value that fans out
// accumulate (the first contribution overwrites). A missing backward rule is a GraphError
// naming the op and node.
Schedule build_backward(const IndexedGraph& g, Schedule forward, const BackwardRequest& request);

// ---- fuse: bias and activation as one step -------------------------------------------
// Merges an add_bias step and the step right after it, an op with OpDef::after_bias
// kernels (relu, sigmoid, tanh) whose input is add_bias's output, into one step; likewise
// their backward steps. Only when that output z has no other consumer and is not kept:
// then z and its gradient are touched by no step, and liveness gives them no memory.
// Returns the schedule with the pairs merged (fewer steps).
Schedule fuse(const IndexedGraph& g, Schedule s);

// The OpDef whose backward_reads_in and inplace flags describe step.in: the fused add_bias's
// for a fused step, else the node's own.
const OpDef& in_op(const IndexedGraph& g, const Step& step);

// ---- liveness: per tensor, the first and last step that touches it ---------------------
struct Interval {
  int first = 0;
  int last = 0;  // inclusive
};
// External tensors (parameters, state) get {-1, -1}: they are not in the arena; so do
// tensors that no step touches (what fuse merged away), which then get no slot. Inputs are
// live for the whole plan (the caller writes them before a run and may run again without
// writing them again); kept tensors to the last step.
std::vector<Interval> liveness(const IndexedGraph& g, const Schedule& s);

// ---- assign_slots: in-place reuse -----------------------------------------------------
// Tensors that share memory form one slot. An in-place op's output joins its input's slot
// when that input dies at the op's step; a backward_inplace op's input gradient joins its
// output gradient's slot when that gradient dies there and the input gradient starts
// there (overwritten). With reuse off, every tensor has its own slot.
struct Slots {
  std::vector<int> tensor_slot;      // per tensor, -1 for external tensors
  std::vector<std::size_t> bytes;    // per slot
  std::vector<Interval> live;        // per slot: the union of its tensors' intervals
  // The tensors that are not external, with those no step touches, and their bytes each
  // padded to 64: the naive layout, every tensor in a buffer of its own.
  std::size_t tensors = 0;
  std::size_t tensor_bytes = 0;
};
Slots assign_slots(const IndexedGraph& g, const Schedule& s, const std::vector<Interval>& live,
                   std::size_t elem_bytes, bool reuse);

// ---- assign_offsets: a pure function from buffers to offsets in one arena --------------
struct BufferRequest {
  std::size_t bytes = 0;
  std::size_t alignment = 64;
  int first = 0, last = 0;  // inclusive live interval in steps
};
struct OffsetAssignment {
  std::vector<std::size_t> offsets;
  std::size_t arena_bytes = 0;
  std::string strategy;  // which heuristic won
};
// Best fit by decreasing size over live intervals (TFLite's and XLA's heuristic) and a
// time-ordered best-fit sweep; the smaller arena wins. The first is quadratic, so it runs
// only up to `greedy_limit` buffers.
OffsetAssignment assign_offsets(const std::vector<BufferRequest>& buffers,
                                std::size_t greedy_limit = 4096);
// Every buffer at the same step everywhere: the sum of bytes of every buffer.
std::size_t naive_bytes(const std::vector<BufferRequest>& buffers);
// The largest total of bytes live at any one step: no arena can be smaller.
std::size_t lower_bound_bytes(const std::vector<BufferRequest>& buffers);
// Proves that no two buffers live at a common step overlap in memory, that each is
// aligned and inside the arena. Returns an empty string, or a description of the first
// violation.
std::string check_offsets(const std::vector<BufferRequest>& buffers,
                          const OffsetAssignment& assignment);

}  // namespace plangrad
