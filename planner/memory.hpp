// Memory: when each tensor is live, which tensors share memory, and where each shared
// piece ("slot") sits in one arena:
//
//   liveness -> assign_slots (in-place reuse) -> assign_offsets
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/visibility.hpp"
#include "planner/schedule.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

struct Interval {
  int first = 0;
  int last = 0;  // inclusive
  bool operator==(const Interval& o) const { return first == o.first && last == o.last; }
};

// Per tensor, the first and last step that touches it. A Backward step touches only the
// forward tensors its op's backward reads. Inputs are live for the whole plan (a caller
// writes them before a run and may run again without writing them again); kept tensors
// to the last step. External tensors (parameters, state) and tensors no step touches
// (what fuse merged away) get {-1, -1}: no memory.
std::vector<Interval> liveness(const IndexedGraph& g, const Schedule& s);

// Tensors that share memory form one slot. An in-place op's output joins its input's slot
// when that input dies at the op's step; a backward_inplace op's input gradient joins its
// output gradient's slot when that gradient dies there and the input gradient starts
// there, overwritten. With reuse off, every tensor with an interval has a slot of its own.
struct Slots {
  std::vector<int> tensor_slot;    // per tensor; -1 for tensors with no interval
  std::vector<std::size_t> bytes;  // per slot, a multiple of 64; 0 for a slot emptied by a join
  std::vector<Interval> live;      // per slot: the union of its tensors' intervals
};
Slots assign_slots(const IndexedGraph& g, const Schedule& s, const std::vector<Interval>& live,
                   std::size_t elem_bytes, bool reuse);

// A tensor's bytes rounded up to 64, as the arena holds it.
std::size_t padded_bytes(const TensorInfo& t, std::size_t elem_bytes);

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
PLANGRAD_PUBLIC_END
