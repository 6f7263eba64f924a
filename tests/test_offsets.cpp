// assign_offsets and check_offsets: on thousands of random interval sets the assignment is
// proved valid and lies between the lower bound and the naive sum; the checker is itself
// checked against brute force; and the plans of the example graphs are proved valid and
// within 5% of their lower bound.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "core/random.hpp"
#include "planner/passes.hpp"
#include "planner/plan.hpp"
#include "tests/example_graphs.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

// Sizes log-uniform in 1 B .. 1 MiB; alignments mixed; lifetimes short, medium and to the
// end, over 10-100 steps.
std::vector<BufferRequest> random_buffers(Rng& rng, std::size_t max_count) {
  const int steps = 10 + static_cast<int>(rng.below(91));
  const std::size_t n = 1 + rng.below(max_count);
  static constexpr std::size_t kAlignments[] = {1, 8, 64, 64, 64, 128, 256};
  std::vector<BufferRequest> out;
  for (std::size_t i = 0; i < n; ++i) {
    BufferRequest b;
    b.bytes = static_cast<std::size_t>(std::exp(rng.uniform(0.0, std::log(1024.0 * 1024.0))));
    b.bytes = std::clamp<std::size_t>(b.bytes, 1, 1024 * 1024);
    b.alignment = kAlignments[rng.below(std::size(kAlignments))];
    b.first = static_cast<int>(rng.below(static_cast<std::uint64_t>(steps)));
    const std::uint64_t kind = rng.below(10);
    const int length = kind < 5 ? static_cast<int>(rng.below(4))
                       : kind < 8 ? static_cast<int>(rng.below(static_cast<std::uint64_t>(steps / 4 + 1)))
                                  : steps;
    b.last = std::min(steps - 1, b.first + length);
    out.push_back(b);
  }
  return out;
}

// The obvious O(n^2) check: aligned, inside the arena, and no two buffers live at a common
// step share a byte.
bool brute_force_valid(const std::vector<BufferRequest>& b, const OffsetAssignment& a) {
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (b[i].bytes == 0) continue;
    if (a.offsets[i] % b[i].alignment != 0 || a.offsets[i] + b[i].bytes > a.arena_bytes) return false;
    for (std::size_t j = 0; j < i; ++j) {
      if (b[j].bytes == 0) continue;
      const bool same_time = b[i].first <= b[j].last && b[j].first <= b[i].last;
      const bool same_bytes = a.offsets[i] < a.offsets[j] + b[j].bytes && a.offsets[j] < a.offsets[i] + b[i].bytes;
      if (same_time && same_bytes) return false;
    }
  }
  return true;
}

void check_assignment(const std::vector<BufferRequest>& buffers, const OffsetAssignment& a) {
  REQUIRE(check_offsets(buffers, a) == "");
  REQUIRE(brute_force_valid(buffers, a));
  CHECK(a.arena_bytes >= lower_bound_bytes(buffers));
  CHECK(a.arena_bytes <= naive_bytes(buffers));
}

bool touched(const Plan& plan, int t) {
  const Schedule& s = plan.schedule;
  for (const Step& st : s.steps) {
    for (const std::vector<int>* ids : {&st.in, &st.out, &st.d_out, &st.d_in})
      if (std::find(ids->begin(), ids->end(), t) != ids->end()) return true;
    if (st.workspace == t || st.saved == t || st.target == t || st.grad == t) return true;
  }
  return false;
}

// A plan's arena, slot by slot, as the buffers and assignment check_offsets takes. Also
// checks what only the plan knows: every tensor of a slot sits at the slot's offset,
// inside the arena, within its slot's lifetime.
std::pair<std::vector<BufferRequest>, OffsetAssignment> plan_buffers(const Plan& plan) {
  const std::size_t slots = plan.slots.bytes.size();
  std::vector<BufferRequest> buffers(slots);
  OffsetAssignment a;
  a.offsets.assign(slots, SIZE_MAX);
  a.arena_bytes = plan.arena_bytes;
  for (std::size_t k = 0; k < slots; ++k)
    buffers[k] = {plan.slots.bytes[k], 64, plan.slots.live[k].first, plan.slots.live[k].last};
  for (std::size_t t = 0; t < plan.schedule.tensors.size(); ++t) {
    const int slot = plan.slots.tensor_slot[t];
    CHECK(plan.offset[t].has_value() == (slot >= 0));
    if (slot < 0) {  // external, or fused away: then no step touches it
      CHECK((plan.schedule.tensors[t].external() || !touched(plan, static_cast<int>(t))));
      continue;
    }
    const auto k = static_cast<std::size_t>(slot);
    INFO("tensor " << plan.schedule.tensors[t].name);
    REQUIRE(plan.offset[t]);
    const std::size_t offset = *plan.offset[t];
    if (a.offsets[k] == SIZE_MAX) a.offsets[k] = offset;
    CHECK(a.offsets[k] == offset);
    CHECK(offset + numel(plan.schedule.tensors[t].shape) * plan.elem_bytes <= plan.arena_bytes);
    CHECK(numel(plan.schedule.tensors[t].shape) * plan.elem_bytes <= buffers[k].bytes);
    CHECK(plan.live[t].first >= buffers[k].first);
    CHECK(plan.live[t].last <= buffers[k].last);
  }
  for (std::size_t k = 0; k < slots; ++k)
    if (a.offsets[k] == SIZE_MAX) {
      CHECK(buffers[k].bytes == 0);  // an emptied slot
      a.offsets[k] = 0;
    }
  return {buffers, a};
}

Plan example_plan(const Model& model, PlanKind kind, std::int64_t batch, bool reuse = true,
                  std::size_t elem_bytes = sizeof(float)) {
  PlanRequest r;
  r.kind = kind;
  r.batch = batch;
  r.reuse_memory = reuse;
  r.elem_bytes = elem_bytes;
  if (kind == PlanKind::Gradients) r.input_gradients = {"x"};
  return make_plan(model.graph, r);
}

}  // namespace

TEST_CASE("assign_offsets is valid and between the bounds on random interval sets", "[offsets]") {
  Rng rng(424242);
  std::map<std::string, int> winners;
  int sweep_strictly_worse = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    INFO("trial " << trial);
    const std::vector<BufferRequest> buffers = random_buffers(rng, 120);
    const OffsetAssignment both = assign_offsets(buffers);  // greedy and sweep, the smaller wins
    const OffsetAssignment sweep = assign_offsets(buffers, 0);  // the sweep alone
    check_assignment(buffers, both);
    check_assignment(buffers, sweep);
    CHECK(sweep.strategy == "sweep-best-fit");
    CHECK(both.arena_bytes <= sweep.arena_bytes);
    ++winners[both.strategy];
    sweep_strictly_worse += both.arena_bytes < sweep.arena_bytes;
  }
  // Both heuristics are exercised, and the greedy one earns its place.
  WARN("random sets won by greedy-by-size: " << winners["greedy-by-size"] << ", by sweep-best-fit: "
                                             << winners["sweep-best-fit"] << ", greedy strictly smaller: "
                                             << sweep_strictly_worse);
  CHECK(winners["greedy-by-size"] > 0);
  CHECK(sweep_strictly_worse > 0);
  CHECK(winners["greedy-by-size"] + winners["sweep-best-fit"] == 3000);
}

TEST_CASE("assign_offsets on large sets uses the sweep alone", "[offsets]") {
  Rng rng(99);
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<BufferRequest> buffers = random_buffers(rng, 1);
    while (buffers.size() < 5000) {
      const std::vector<BufferRequest> more = random_buffers(rng, 200);
      buffers.insert(buffers.end(), more.begin(), more.end());
    }
    const OffsetAssignment a = assign_offsets(buffers, 4096);
    CHECK(a.strategy == "sweep-best-fit");
    REQUIRE(check_offsets(buffers, a) == "");
    CHECK(a.arena_bytes >= lower_bound_bytes(buffers));
    CHECK(a.arena_bytes <= naive_bytes(buffers));
  }
}

TEST_CASE("the sweep places by the order of steps, not their values", "[offsets]") {
  // Steps spread a million apart and shifted below zero keep their order: the sweep
  // places every buffer where it did.
  Rng rng(17);
  for (int trial = 0; trial < 200; ++trial) {
    INFO("trial " << trial);
    std::vector<BufferRequest> b = random_buffers(rng, 300);
    const OffsetAssignment dense = assign_offsets(b, 0);
    REQUIRE(dense.strategy == "sweep-best-fit");
    check_assignment(b, dense);
    for (BufferRequest& x : b) {
      x.first = x.first * 1000000 - 50000000;
      x.last = x.last * 1000000 - 50000000;
    }
    const OffsetAssignment sparse = assign_offsets(b, 0);
    CHECK(sparse.offsets == dense.offsets);
    CHECK(sparse.arena_bytes == dense.arena_bytes);
  }
}

TEST_CASE("assign_offsets finds a known optimal packing", "[offsets]") {
  SECTION("disjoint lifetimes share one place") {
    const std::vector<BufferRequest> b = {{1024, 64, 0, 1}, {1024, 64, 2, 3}, {1024, 64, 4, 4}};
    const OffsetAssignment a = assign_offsets(b);
    check_assignment(b, a);
    CHECK(a.arena_bytes == 1024);
    CHECK(a.offsets == std::vector<std::size_t>{0, 0, 0});
    CHECK(naive_bytes(b) == 3072);
  }
  SECTION("a packing that meets the lower bound of 6 KiB") {
    // step:  0  1  2  3  4  5
    // A 4K   ====== ==            A [0,2]
    // B 2K   =                    B [0,0]
    // C 2K      ======            C [1,3]
    // D 2K            ======      D [3,5]
    // E 4K               ====     E [4,5]
    // Live bytes per step: 6K 6K 6K 4K 6K 6K. A 6K arena: A@0, B@4K, C@4K, D@0, E@2K.
    const std::vector<BufferRequest> b = {
        {4096, 64, 0, 2}, {2048, 64, 0, 0}, {2048, 64, 1, 3}, {2048, 64, 3, 5}, {4096, 64, 4, 5}};
    CHECK(lower_bound_bytes(b) == 6144);
    CHECK(naive_bytes(b) == 14336);
    const OffsetAssignment a = assign_offsets(b);
    check_assignment(b, a);
    CHECK(a.arena_bytes == 6144);
    const OffsetAssignment known{{0, 4096, 4096, 0, 2048}, 6144, "by hand"};
    CHECK(check_offsets(b, known) == "");
  }
  SECTION("sizes are padded to the alignment") {
    const std::vector<BufferRequest> b = {{1, 64, 0, 0}, {1, 64, 0, 0}, {100, 64, 0, 0}};
    CHECK(lower_bound_bytes(b) == 64 + 64 + 128);
    const OffsetAssignment a = assign_offsets(b);
    check_assignment(b, a);
    CHECK(a.arena_bytes == 256);
  }
  SECTION("zero-byte buffers take no room") {
    const std::vector<BufferRequest> b = {{0, 64, 0, 5}, {640, 64, 0, 5}, {0, 64, 2, 2}};
    const OffsetAssignment a = assign_offsets(b);
    check_assignment(b, a);
    CHECK(a.arena_bytes == 640);
  }
  SECTION("nothing to place") {
    const OffsetAssignment a = assign_offsets({});
    CHECK(a.arena_bytes == 0);
    CHECK(a.offsets.empty());
  }
}

// The most bytes live at one step, step by step over every step any buffer touches.
std::size_t brute_force_lower_bound(const std::vector<BufferRequest>& b) {
  std::set<int> steps;
  for (const BufferRequest& x : b)
    if (x.bytes > 0) steps.insert({x.first, x.last});
  std::size_t unit = 64, peak = 0;
  for (const BufferRequest& x : b) unit = std::max(unit, x.alignment);
  for (int at : steps) {
    std::size_t live = 0;
    for (const BufferRequest& x : b)
      if (x.bytes > 0 && x.first <= at && at <= x.last) live += (x.bytes + unit - 1) / unit * unit;
    peak = std::max(peak, live);
  }
  return peak;
}

TEST_CASE("lower_bound_bytes is the most bytes live at one step", "[offsets]") {
  Rng rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    INFO("trial " << trial);
    std::vector<BufferRequest> b = random_buffers(rng, 60);
    // Steps a plan's size apart, then spread far apart and shifted below zero: both give
    // the brute-force peak.
    CHECK(lower_bound_bytes(b) == brute_force_lower_bound(b));
    for (BufferRequest& x : b) {
      x.first = x.first * 1000000 - 50000000;
      x.last = x.last * 1000000 - 50000000;
    }
    CHECK(lower_bound_bytes(b) == brute_force_lower_bound(b));
  }
  CHECK(lower_bound_bytes({}) == 0);
  CHECK(lower_bound_bytes({{0, 64, 0, 9}}) == 0);
}

TEST_CASE("check_offsets detects a bad assignment", "[offsets]") {
  const std::vector<BufferRequest> b = {{1000, 64, 0, 3}, {500, 64, 2, 5}, {700, 64, 4, 6}};
  const OffsetAssignment good = assign_offsets(b);
  REQUIRE(check_offsets(b, good) == "");

  SECTION("overlap in time and memory") {
    OffsetAssignment bad = good;
    bad.offsets[1] = bad.offsets[0] + 512;  // buffer 0 ends at +1000; both live at steps 2-3
    bad.arena_bytes = std::max(bad.arena_bytes, bad.offsets[1] + 500);
    const std::string msg = check_offsets(b, bad);
    CHECK_THAT(msg, Contains("overlap") && Contains("buffers 0 and 1"));
    CHECK_FALSE(brute_force_valid(b, bad));
  }
  SECTION("overlap found when the earlier buffer sits higher") {
    const OffsetAssignment bad{{512, 0, 2048}, 4096, "by hand"};  // 1 [0,500) vs 0 [512,1512): fine
    CHECK(check_offsets(b, bad) == "");
    const OffsetAssignment worse{{448, 0, 2048}, 4096, "by hand"};  // 1 [0,500) vs 0 [448,..)
    CHECK_THAT(check_offsets(b, worse), Contains("overlap"));
  }
  SECTION("the same memory at disjoint times is fine") {
    const OffsetAssignment shared{{0, 1024, 0}, 2048, "by hand"};  // 0 [0,3] and 2 [4,6]
    CHECK(check_offsets(b, shared) == "");
    const OffsetAssignment touching{{0, 1024, 1024}, 2048, "by hand"};  // 1 [2,5] and 2 [4,6]
    CHECK_THAT(check_offsets(b, touching), Contains("buffers 1 and 2"));
  }
  SECTION("misaligned") {
    OffsetAssignment bad = good;
    bad.offsets[2] += 8;
    bad.arena_bytes += 8;
    CHECK_THAT(check_offsets(b, bad), Contains("not aligned"));
  }
  SECTION("past the end of the arena") {
    OffsetAssignment bad = good;
    bad.arena_bytes = 900;
    CHECK_THAT(check_offsets(b, bad), Contains("past the arena"));
  }
  SECTION("one offset per buffer") {
    OffsetAssignment bad = good;
    bad.offsets.pop_back();
    CHECK(check_offsets(b, bad) != "");
  }
}

TEST_CASE("check_offsets agrees with brute force on random assignments", "[offsets]") {
  Rng rng(7);
  int valid = 0, invalid = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    INFO("trial " << trial);
    std::vector<BufferRequest> b = random_buffers(rng, 12);
    for (BufferRequest& x : b) x.bytes = 1 + x.bytes % 300;  // small, so that collisions are common
    OffsetAssignment a;
    for (const BufferRequest& x : b) {
      a.offsets.push_back(64 * rng.below(3 * b.size() + 1));
      a.arena_bytes = std::max(a.arena_bytes, a.offsets.back() + x.bytes);
    }
    const bool expected = brute_force_valid(b, a);
    REQUIRE((check_offsets(b, a) == "") == expected);
    (expected ? valid : invalid)++;
  }
  CHECK(valid > 300);
  CHECK(invalid > 300);
}

TEST_CASE("the example plans are valid and close to their lower bound", "[offsets]") {
  struct Case {
    const char* name;
    Model model;
    std::int64_t batch;
  };
  const std::vector<Case> cases = {{"circle MLP 2-25-25-25-2", circle_mlp(1), 100},
                                   {"residual DAG", residual_dag(2), 64}};
  for (const Case& c : cases) {
    for (PlanKind kind : {PlanKind::Training, PlanKind::Gradients, PlanKind::Inference}) {
      for (std::size_t elem : {sizeof(float), sizeof(double)}) {
        const Plan plan = example_plan(c.model, kind, c.batch, true, elem);
        INFO(c.name << ", " << plan_kind_name(kind) << " plan, " << elem << "-byte scalars");
        const auto [buffers, assignment] = plan_buffers(plan);
        REQUIRE(check_offsets(buffers, assignment) == "");
        REQUIRE(brute_force_valid(buffers, assignment));
        const std::size_t lower = lower_bound_bytes(buffers);
        CHECK(plan.stats.lower_bound_bytes == lower);
        CHECK(plan.stats.arena_bytes == plan.arena_bytes);
        CHECK(plan.arena_bytes >= lower);
        CHECK(plan.arena_bytes <= plan.stats.naive_bytes);
        if (elem == sizeof(float))
          WARN(c.name << ", " << plan_kind_name(kind) << " (float, batch " << c.batch << "): arena "
                      << plan.arena_bytes << " B, lower bound " << lower << " B (x"
                      << static_cast<double>(plan.arena_bytes) / static_cast<double>(lower) << "), naive "
                      << plan.stats.naive_bytes << " B, " << plan.stats.tensors << " tensors in "
                      << plan.stats.slots << " slots, " << plan.stats.strategy);
        CHECK(static_cast<double>(plan.arena_bytes) <= 1.05 * static_cast<double>(lower));

        // Without reuse every tensor has its own bytes: the checker still passes, and the
        // arena is the naive sum of the slots.
        const Plan naive = example_plan(c.model, kind, c.batch, false, elem);
        const auto [nb, na] = plan_buffers(naive);
        REQUIRE(check_offsets(nb, na) == "");
        CHECK(naive.arena_bytes == naive_bytes(nb));
        CHECK(plan.arena_bytes < naive.arena_bytes);
      }
    }
  }
}
