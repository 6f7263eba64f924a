// assign_slots on schedules and intervals built by hand: an in-place op's output shares its
// input's slot exactly when the input dies at that step (and is an activation read once, of
// the same size); a backward_inplace op's input gradient shares its output gradient's slot
// when that gradient dies there and the input gradient is overwritten, not accumulated.
#include <catch2/catch.hpp>

#include "planner/memory.hpp"
#include "tests/planner_by_hand.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

// x -> relu 'a' -> h1 -> relu 'b' -> h2 -> relu 'c' -> h3; and matmul 'mm' (h1, w) for the
// cases that need an op that is not element-wise.
struct Chain {
  HandGraph h;
  int x, w, h1, h2, h3, m;
  int a, b, c, mm;
  Chain() {
    x = h.value("x", ValueRole::Input, {4, 3});
    w = h.value("w", ValueRole::Parameter, {3, 3});
    h1 = h.value("h1");
    h2 = h.value("h2");
    h3 = h.value("h3");
    m = h.value("m");
    a = h.node("a", "relu", {x}, {h1});
    b = h.node("b", "relu", {h1}, {h2});
    c = h.node("c", "relu", {h2}, {h3});
    mm = h.node("mm", "matmul", {h1, w}, {m});
  }
};

enum : int { X, H1, H2, H3, kTensors };

Schedule forward_chain(const Chain& ch) {
  Schedule s;
  s.tensors = {{"x", {4, 3}, ch.x, TensorRole::Input},
               {"h1", {4, 3}, ch.h1, TensorRole::Activation},
               {"h2", {4, 3}, ch.h2, TensorRole::Activation},
               {"h3", {4, 3}, ch.h3, TensorRole::Activation}};
  s.steps = {forward_step(ch.a, {X}, {H1}), forward_step(ch.b, {H1}, {H2}), forward_step(ch.c, {H2}, {H3})};
  return s;
}

// Each tensor's interval as liveness gives it for forward_chain with h3 kept.
std::vector<Interval> chain_live() { return {{0, 2}, {0, 1}, {1, 2}, {2, 2}}; }

int slot(const Slots& s, int t) { return s.tensor_slot[static_cast<std::size_t>(t)]; }

}  // namespace

TEST_CASE("assign_slots: an in-place op's output takes its dying input's slot", "[assign_slots]") {
  const Chain ch;
  const Schedule s = forward_chain(ch);
  const Slots slots = assign_slots(ch.h.g, s, chain_live(), sizeof(float), true);
  REQUIRE(slots.tensor_slot.size() == kTensors);
  // x is an input: never overwritten. h1 dies where b writes h2, h2 where c writes h3.
  CHECK(slot(slots, X) != slot(slots, H1));
  CHECK(slot(slots, H2) == slot(slots, H1));
  CHECK(slot(slots, H3) == slot(slots, H1));
  const auto k = static_cast<std::size_t>(slot(slots, H1));
  CHECK(slots.live[k] == Interval{0, 2});  // the union of the three intervals
  CHECK(slots.bytes[k] == 64);             // 12 floats, padded to 64 bytes
  // The slots h2 and h3 had are emptied, not removed: slot ids stay tensor order.
  CHECK(slots.bytes.size() == kTensors);
  CHECK(slots.bytes[2] == 0);
  CHECK(slots.bytes[3] == 0);
}

TEST_CASE("assign_slots: no sharing unless the input dies at the step", "[assign_slots]") {
  const Chain ch;
  Schedule s = forward_chain(ch);
  SECTION("the input lives on") {
    std::vector<Interval> live = chain_live();
    live[H1] = {0, 2};  // read again after b
    const Slots slots = assign_slots(ch.h.g, s, live, sizeof(float), true);
    CHECK(slot(slots, H2) != slot(slots, H1));
    CHECK(slot(slots, H3) == slot(slots, H2));
  }
  SECTION("the input is a plan input, even where its interval ends") {
    std::vector<Interval> live = chain_live();
    live[X] = {0, 0};
    const Slots slots = assign_slots(ch.h.g, s, live, sizeof(float), true);
    CHECK(slot(slots, H1) != slot(slots, X));
  }
  SECTION("the sizes differ") {
    s.tensors[H2].shape = {8, 3};
    const Slots slots = assign_slots(ch.h.g, s, chain_live(), sizeof(float), true);
    CHECK(slot(slots, H2) != slot(slots, H1));
  }
  SECTION("the op reads the input twice") {
    HandGraph twice = ch.h;
    const int sum = twice.node("sum", "add", {ch.h1, ch.h1}, {ch.h2});
    s.steps[1] = forward_step(sum, {H1, H1}, {H2});
    const Slots slots = assign_slots(twice.g, s, chain_live(), sizeof(float), true);
    CHECK(slot(slots, H2) != slot(slots, H1));
  }
  SECTION("the op is not element-wise") {
    s.steps[1].node = ch.mm;  // (its input list is the chain's; only the op matters here)
    const Slots slots = assign_slots(ch.h.g, s, chain_live(), sizeof(float), true);
    CHECK(slot(slots, H2) != slot(slots, H1));
  }
  SECTION("a fused step is element-wise only when both of its ops are") {
    s.steps[1].fused = ch.mm;
    const Slots slots = assign_slots(ch.h.g, s, chain_live(), sizeof(float), true);
    CHECK(slot(slots, H2) != slot(slots, H1));
    s.steps[1].fused = ch.a;
    CHECK(slot(assign_slots(ch.h.g, s, chain_live(), sizeof(float), true), H2) == slot(slots, H1));
  }
  SECTION("reuse off: every tensor its own slot") {
    const Slots slots = assign_slots(ch.h.g, s, chain_live(), sizeof(float), false);
    CHECK(slots.tensor_slot == std::vector<int>{0, 1, 2, 3});
    CHECK(slots.bytes == std::vector<std::size_t>{64, 64, 64, 64});
    CHECK(slots.live.size() == 4);
    CHECK(slots.live[2] == Interval{1, 2});
  }
}

TEST_CASE("assign_slots: tensors without an interval get no slot; bytes are padded", "[assign_slots]") {
  const Chain ch;
  Schedule s = forward_chain(ch);
  s.tensors.push_back({"w", {3, 3}, ch.w, TensorRole::Parameter});
  s.tensors.push_back({"ws", {10}, -1, TensorRole::Workspace});
  std::vector<Interval> live = chain_live();
  live.push_back({-1, -1});
  live.push_back({1, 1});
  live[H3] = {-1, -1};  // as if fused away
  const Slots slots = assign_slots(ch.h.g, s, live, sizeof(double), false);
  CHECK(slots.tensor_slot == std::vector<int>{0, 1, 2, -1, -1, 3});
  // 12 doubles are 96 bytes, padded to 128; 10 doubles, 80 -> 128.
  CHECK(slots.bytes == std::vector<std::size_t>{128, 128, 128, 128});
  CHECK(slots.live[3] == Interval{1, 1});
}

TEST_CASE("assign_slots: a backward_inplace op's input gradient takes its output gradient's slot",
          "[assign_slots]") {
  const Chain ch;
  // ... forward as before, then: fill dh3; backward c: dh3 -> dh2; backward b: dh2 -> dh1.
  enum : int { DH3 = kTensors, DH2, DH1 };
  Schedule s = forward_chain(ch);
  s.tensors.push_back({"grad:h3", {4, 3}, ch.h3, TensorRole::Gradient});
  s.tensors.push_back({"grad:h2", {4, 3}, ch.h2, TensorRole::Gradient});
  s.tensors.push_back({"grad:h1", {4, 3}, ch.h1, TensorRole::Gradient});
  s.steps.push_back(fill_step(DH3));
  s.steps.push_back(backward_step(ch.c, {H2}, {H3}, {DH3}, {DH2}));
  s.steps.push_back(backward_step(ch.b, {H1}, {H2}, {DH2}, {DH1}));
  // relu's backward reads its output: h3 lives to step 4, h2 to 5.
  const std::vector<Interval> live = {{0, 5}, {0, 1}, {1, 5}, {2, 4}, {3, 4}, {4, 5}, {5, 5}};
  SECTION("overwritten: shared") {
    const Slots slots = assign_slots(ch.h.g, s, live, sizeof(float), true);
    CHECK(slot(slots, DH2) == slot(slots, DH3));
    CHECK(slot(slots, DH1) == slot(slots, DH3));
    CHECK(slots.live[static_cast<std::size_t>(slot(slots, DH3))] == Interval{3, 5});
  }
  SECTION("accumulated: not shared (the gradient already holds another contribution)") {
    s.steps[5].accumulate = {1};
    const Slots slots = assign_slots(ch.h.g, s, live, sizeof(float), true);
    CHECK(slot(slots, DH2) == slot(slots, DH3));
    CHECK(slot(slots, DH1) != slot(slots, DH2));
  }
  SECTION("the output gradient lives on: not shared") {
    std::vector<Interval> longer = live;
    longer[DH3] = {3, 5};
    const Slots slots = assign_slots(ch.h.g, s, longer, sizeof(float), true);
    CHECK(slot(slots, DH2) != slot(slots, DH3));
  }
}
