// liveness on schedules built by hand: each tensor lives from the first to the last step
// that touches it; a backward step touches only the forward tensors its rule reads; inputs
// live for the whole plan, kept tensors to its end; external and untouched tensors get no
// interval.
#include <catch2/catch.hpp>

#include "planner/memory.hpp"
#include "tests/planner_by_hand.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

// x[4,3] -> matmul 'mm' (w[3,2]) -> y -> relu 'act' -> z -> mse_loss 'loss' (t[4,2]) -> L
struct Mlp {
  HandGraph h;
  int x, w, y, z, t, l;
  int mm, act, loss;
  Mlp() {
    x = h.value("x", ValueRole::Input, {4, 3});
    w = h.value("w", ValueRole::Parameter, {3, 2});
    y = h.value("y");
    z = h.value("z");
    t = h.value("t", ValueRole::Input, {4, 2});
    l = h.value("L");
    mm = h.node("mm", "matmul", {x, w}, {y});
    act = h.node("act", "relu", {y}, {z});
    loss = h.node("loss", "mse_loss", {z, t}, {l});
  }
};

// Tensor ids of the schedule below.
enum : int { X, W, Y, Z, T, L, DL, DZ, DY, DW, ORPHAN, WS, kTensors };

// The training schedule of Mlp, written out:
//   0 forward mm      x, w -> y
//   1 forward act     y -> z
//   2 forward loss    z, t -> L
//   3 fill            dL
//   4 backward loss   dL -> dz, -            (mse reads z and t)
//   5 backward act    dz -> dy, workspace    (relu reads its output z, not y)
//   6 backward mm     dy -> -, dw            (matmul reads x and w, not y)
//   7 update          w with dw
// L is kept; ORPHAN is a tensor no step touches.
Schedule training_schedule(const Mlp& m) {
  Schedule s;
  s.tensors.resize(kTensors);
  s.tensors[X] = {"x", {4, 3}, m.x, TensorRole::Input};
  s.tensors[W] = {"w", {3, 2}, m.w, TensorRole::Parameter};
  s.tensors[Y] = {"y", {4, 2}, m.y, TensorRole::Activation};
  s.tensors[Z] = {"z", {4, 2}, m.z, TensorRole::Activation};
  s.tensors[T] = {"t", {4, 2}, m.t, TensorRole::Input};
  s.tensors[L] = {"L", {}, m.l, TensorRole::Activation};
  s.tensors[DL] = {"grad:L", {}, m.l, TensorRole::Gradient};
  s.tensors[DZ] = {"grad:z", {4, 2}, m.z, TensorRole::Gradient};
  s.tensors[DY] = {"grad:y", {4, 2}, m.y, TensorRole::Gradient};
  s.tensors[DW] = {"grad:w", {3, 2}, m.w, TensorRole::Gradient};
  s.tensors[ORPHAN] = {"orphan", {4, 2}, -1, TensorRole::Activation};
  s.tensors[WS] = {"ws:act:bwd", {8}, -1, TensorRole::Workspace};
  s.steps = {forward_step(m.mm, {X, W}, {Y}),
             forward_step(m.act, {Y}, {Z}),
             forward_step(m.loss, {Z, T}, {L}),
             fill_step(DL),
             backward_step(m.loss, {Z, T}, {L}, {DL}, {DZ, -1}),
             backward_step(m.act, {Y}, {Z}, {DZ}, {DY}),
             backward_step(m.mm, {X, W}, {Y}, {DY}, {-1, DW}),
             update_step(W, DW)};
  s.steps[5].workspace = WS;
  s.keep = {L};
  return s;
}

}  // namespace

TEST_CASE("liveness: from the first to the last step touching each tensor", "[liveness]") {
  const Mlp m;
  const Schedule s = training_schedule(m);
  const std::vector<Interval> live = liveness(m.h.g, s);
  REQUIRE(live.size() == kTensors);
  // A backward step touches only what its rule reads: relu's backward reads z, not y, and
  // matmul's reads x and w, not y. So y dies at relu's forward step.
  CHECK(live[Y] == Interval{0, 1});
  CHECK(live[Z] == Interval{1, 5});
  CHECK(live[DL] == Interval{3, 4});
  CHECK(live[DZ] == Interval{4, 5});
  CHECK(live[DY] == Interval{5, 6});
  CHECK(live[DW] == Interval{6, 7});  // the update reads it
  CHECK(live[WS] == Interval{5, 5});
}

TEST_CASE("liveness: inputs for the whole plan, kept tensors to the end", "[liveness]") {
  const Mlp m;
  const Schedule s = training_schedule(m);
  const std::vector<Interval> live = liveness(m.h.g, s);
  CHECK(live[X] == Interval{0, 7});
  CHECK(live[T] == Interval{0, 7});  // first read at step 2, last at 4
  CHECK(live[L] == Interval{2, 7});  // kept: past its last reader
}

TEST_CASE("liveness: external and untouched tensors get no interval", "[liveness]") {
  const Mlp m;
  const Schedule s = training_schedule(m);
  const std::vector<Interval> live = liveness(m.h.g, s);
  CHECK(live[W] == Interval{-1, -1});  // the parameter lives in the model, though steps read it
  CHECK(live[ORPHAN] == Interval{-1, -1});
}

TEST_CASE("liveness: a fused step's inputs live by the bias op's backward rule", "[liveness]") {
  // x -> add_bias (a test op whose backward reads x) 'zb' -> z -> relu 'act' -> y, fused.
  register_test_ops();
  HandGraph h;
  const int x = h.value("x", ValueRole::Input, {4, 3}), b = h.value("b", ValueRole::Parameter, {3});
  const int hx = h.value("hx"), z = h.value("z"), y = h.value("y");
  const int pre = h.node("pre", "relu", {x}, {hx});
  const int zb = h.node("zb", "test_bias_reads_x", {hx, b}, {z});
  const int act = h.node("act", "relu", {z}, {y});
  enum : int { TX, TB, THX, TZ, TY, TDY, TDHX, TDB };
  Schedule s;
  s.tensors = {{"x", {4, 3}, x, TensorRole::Input},        {"b", {3}, b, TensorRole::Parameter},
               {"hx", {4, 3}, hx, TensorRole::Activation}, {"z", {4, 3}, z, TensorRole::Activation},
               {"y", {4, 3}, y, TensorRole::Activation},   {"grad:y", {4, 3}, y, TensorRole::Gradient},
               {"grad:hx", {4, 3}, hx, TensorRole::Gradient}, {"grad:b", {3}, b, TensorRole::Gradient}};
  Step f = forward_step(act, {THX, TB}, {TY});
  f.fused = zb;
  Step bwd = backward_step(act, {THX, TB}, {TY}, {TDY}, {TDHX, TDB});
  bwd.fused = zb;
  s.steps = {forward_step(pre, {TX}, {THX}), f, fill_step(TDY), bwd};
  s.keep = {TY};
  const std::vector<Interval> live = liveness(h.g, s);
  CHECK(live[THX] == Interval{0, 3});  // read by the fused backward: test_bias_reads_x reads x
  CHECK(live[TZ] == Interval{-1, -1});  // the sum no step touches
  CHECK(live[TY] == Interval{1, 3});
  CHECK(live[TDHX] == Interval{3, 3});

  // With add_bias itself, whose backward reads nothing, hx dies at the fused forward step.
  h.g.nodes[static_cast<std::size_t>(zb)].op = &find_op("add_bias");
  CHECK(liveness(h.g, s)[THX] == Interval{0, 1});
}

TEST_CASE("liveness: an empty schedule, and inputs of a plan with no steps", "[liveness]") {
  Schedule s;
  CHECK(liveness(IndexedGraph{}, s).empty());
  s.tensors = {{"x", {2}, 0, TensorRole::Input}, {"y", {2}, 1, TensorRole::Activation}};
  const std::vector<Interval> live = liveness(IndexedGraph{}, s);
  CHECK(live[0] == Interval{0, 0});
  CHECK(live[1] == Interval{-1, -1});
}
