// Learning-rate schedules: values by hand, against PyTorch's recorded schedulers (StepLR,
// CosineAnnealingLR, LinearLR warm-up then cosine), the warm-up endpoints, the text form
// and its errors.
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "core/errors.hpp"
#include "engine/lr_schedule.hpp"
#include "tests/error_message.hpp"

using namespace plangrad;
using Catch::Matchers::Contains;

namespace {

// Recorded by scripts/record_torch_optim.py with PyTorch 1.13.0a0 (Debian's python3-torch):
//   /usr/bin/python3 scripts/record_torch_optim.py
// The rate of each epoch as the scheduler steps (param_groups[0]['lr']), base lr 0.1.
// torch.optim.lr_scheduler.StepLR(step_size=3, gamma=0.5), epochs 0..11
const std::vector<double> kStepLR = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125};
// torch.optim.lr_scheduler.CosineAnnealingLR(T_max=10, eta_min=0.001), epochs 0..10
const std::vector<double> kCosineLR = {0.1, 0.09757729755661011, 0.0905463412215599, 0.07959536998847742,
                                       0.0657963412215599, 0.0505, 0.03520365877844011, 0.02140463001152259,
                                       0.010453658778440109, 0.0034227024433899004, 0.001};
// torch.optim.lr_scheduler.SequentialLR([LinearLR(start_factor=0.25, total_iters=3),
//   CosineAnnealingLR(T_max=7, eta_min=0.001)], milestones=[3]), epochs 0..10
const std::vector<double> kWarmupCosineLR = {0.025, 0.05, 0.07500000000000001, 0.1, 0.09509795896116975,
                                             0.08136274519200731, 0.061514786230837566, 0.03948521376916245,
                                             0.019637254807992697, 0.005902041038830259, 0.001};

// Largest relative difference between the schedule's rates for epochs 0.. and `expected`.
double max_relative_error(const LrSchedule& s, double base_lr, const std::vector<double>& expected) {
  double worst = 0;
  for (std::size_t e = 0; e < expected.size(); ++e)
    worst = std::max(worst, std::abs(s.lr(base_lr, static_cast<std::int64_t>(e)) - expected[e]) / expected[e]);
  return worst;
}

std::string usage_message(const std::string& text) {
  return plangrad::testing::error_message<UsageError>([&] { LrSchedule::parse(text); });
}

}  // namespace

TEST_CASE("schedules by hand", "[schedule]") {
  SECTION("constant") {
    const LrSchedule s = LrSchedule::constant();
    CHECK(s.lr(0.3, 0) == 0.3);
    CHECK(s.lr(0.3, 1000) == 0.3);
  }
  SECTION("step: halve every 2 epochs") {
    // 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125
    const LrSchedule s = LrSchedule::step(2, 0.5);
    const std::vector<double> expected = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125};
    for (std::size_t e = 0; e < expected.size(); ++e) CHECK(s.lr(0.1, static_cast<std::int64_t>(e)) == expected[e]);
  }
  SECTION("cosine over 4 epochs to 0, then held") {
    // 0.1 (1 + cos(pi e / 4)) / 2: 0.1, 0.1 (1 + sqrt(2)/2) / 2, 0.05, 0.1 (1 - sqrt(2)/2) / 2, 0
    const LrSchedule s = LrSchedule::cosine(4);
    CHECK(s.lr(0.1, 0) == 0.1);
    CHECK(s.lr(0.1, 1) == Approx(0.1 * (1 + std::sqrt(2.0) / 2) / 2).epsilon(1e-15));
    CHECK(s.lr(0.1, 2) == Approx(0.05).epsilon(1e-15));
    CHECK(s.lr(0.1, 3) == Approx(0.1 * (1 - std::sqrt(2.0) / 2) / 2).epsilon(1e-15));
    CHECK(s.lr(0.1, 4) == 0.0);
    CHECK(s.lr(0.1, 5) == 0.0);  // past t_max: the floor, not PyTorch's rising closed form
    CHECK(s.lr(0.1, 40) == 0.0);
  }
  SECTION("cosine to eta_min") {
    const LrSchedule s = LrSchedule::cosine(4, 0.01);
    CHECK(s.lr(0.1, 2) == Approx(0.01 + 0.09 / 2).epsilon(1e-15));
    CHECK(s.lr(0.1, 4) == Approx(0.01).epsilon(1e-15));
    CHECK(s.lr(0.1, 9) == 0.01);
  }
}

TEST_CASE("the warm-up rises linearly from start_factor * lr to lr, then cosine takes over", "[schedule]") {
  // cosine:10:warmup=4:warmup_start_factor=0.25, base 0.2:
  //   epoch 0: 0.25 * 0.2 = 0.05;  epoch 2: 0.2 * (0.25 + 0.75 * 2/4) = 0.125
  //   epoch 4: 0.2 (the cosine's start);  epoch 7: 0.2 (1 + cos(pi 3/6)) / 2 = 0.1;  epoch 10: 0
  const LrSchedule s = LrSchedule::cosine(10, 0.0, 4, 0.25);
  CHECK(s.lr(0.2, 0) == Approx(0.05).epsilon(1e-15));
  CHECK(s.lr(0.2, 1) == Approx(0.0875).epsilon(1e-15));
  CHECK(s.lr(0.2, 2) == Approx(0.125).epsilon(1e-15));
  CHECK(s.lr(0.2, 3) == Approx(0.1625).epsilon(1e-15));
  CHECK(s.lr(0.2, 4) == 0.2);
  CHECK(s.lr(0.2, 7) == Approx(0.1).epsilon(1e-15));
  CHECK(s.lr(0.2, 10) == 0.0);
  // The rate never jumps: the last warm-up step is below the peak, the first cosine step at it.
  CHECK(s.lr(0.2, 3) < s.lr(0.2, 4));
  CHECK(s.lr(0.2, 5) < s.lr(0.2, 4));
  // The default start factor is LinearLR's, 1/3.
  CHECK(LrSchedule::parse("cosine:10:warmup=4").lr(0.3, 0) == Approx(0.1).epsilon(1e-15));
}

TEST_CASE("schedules follow PyTorch's recorded schedulers to 1e-12", "[schedule][pytorch]") {
  SECTION("StepLR(step_size=3, gamma=0.5)") {
    CHECK(max_relative_error(LrSchedule::parse("step:3:0.5"), 0.1, kStepLR) < 1e-12);
  }
  SECTION("CosineAnnealingLR(T_max=10, eta_min=0.001)") {
    CHECK(max_relative_error(LrSchedule::parse("cosine:10:eta_min=0.001"), 0.1, kCosineLR) < 1e-12);
  }
  SECTION("LinearLR(0.25, 3) then CosineAnnealingLR(T_max=7, eta_min=0.001)") {
    const LrSchedule s = LrSchedule::parse("cosine:10:warmup=3:warmup_start_factor=0.25:eta_min=0.001");
    CHECK(max_relative_error(s, 0.1, kWarmupCosineLR) < 1e-12);
  }
  SECTION("a wrong schedule is caught (the comparison can fail)") {
    CHECK(max_relative_error(LrSchedule::parse("cosine:11:eta_min=0.001"), 0.1, kCosineLR) > 1e-3);
    CHECK(max_relative_error(LrSchedule::parse("step:3:0.5"), 0.1, kWarmupCosineLR) > 1e-3);
  }
}

TEST_CASE("schedule text parses and prints back", "[schedule]") {
  const LrSchedule step = LrSchedule::parse("step:10:0.1");
  CHECK(step.kind == LrSchedule::Kind::Step);
  CHECK(step.step_size == 10);
  CHECK(step.gamma == 0.1);
  CHECK(LrSchedule::parse("step:10") == step);  // gamma 0.1 by default, as StepLR
  const LrSchedule cos = LrSchedule::parse("cosine:50:warmup=5");
  CHECK(cos.kind == LrSchedule::Kind::Cosine);
  CHECK(cos.t_max == 50);
  CHECK(cos.warmup == 5);
  CHECK(cos.eta_min == 0);
  CHECK(cos.warmup_start_factor == 1.0 / 3);
  CHECK(LrSchedule::parse("cosine:50") == LrSchedule::cosine(50));
  CHECK(LrSchedule::parse("constant") == LrSchedule::constant());

  for (const char* text : {"constant", "step:10:0.1", "step:3:0.5", "cosine:50", "cosine:50:eta_min=0.001",
                           "cosine:50:warmup=5:warmup_start_factor=0.1"}) {
    INFO(text);
    CHECK(LrSchedule::parse(text).str() == text);
  }
  const LrSchedule odd = LrSchedule::cosine(7, 1e-5, 2, 1.0 / 3);
  CHECK(LrSchedule::parse(odd.str()) == odd);
  CHECK(LrSchedule::parse("cosine:50:warmup=5:eta_min=0.5") != LrSchedule::parse("cosine:50:warmup=5"));
}

TEST_CASE("bad schedule text is a UsageError naming the bad part", "[schedule][errors]") {
  CHECK_THAT(usage_message(""), Contains("unknown kind ''"));
  CHECK_THAT(usage_message("exponential:5"), Contains("unknown kind 'exponential'"));
  CHECK_THAT(usage_message("constant:3"), Contains("constant takes no arguments"));
  CHECK_THAT(usage_message("step"), Contains("step takes STEP_SIZE"));
  CHECK_THAT(usage_message("step:10:0.1:3"), Contains("step takes STEP_SIZE"));
  CHECK_THAT(usage_message("step:ten"), Contains("step_size must be an integer, got 'ten'"));
  CHECK_THAT(usage_message("step:2.5"), Contains("step_size must be an integer, got '2.5'"));
  CHECK_THAT(usage_message("step:0"), Contains("step_size must be at least 1"));
  CHECK_THAT(usage_message("step:-3"), Contains("step_size must be at least 1"));
  CHECK_THAT(usage_message("step:99999999999999999999"), Contains("step_size must be an integer"));
  CHECK_THAT(usage_message("step:10:"), Contains("gamma must be a number, got ''"));
  CHECK_THAT(usage_message("step:10:0.1x"), Contains("gamma must be a finite number, got '0.1x'"));
  CHECK_THAT(usage_message("step:10:nan"), Contains("gamma must be a finite number"));
  CHECK_THAT(usage_message("step:10:-0.5"), Contains("gamma must be positive"));
  CHECK_THAT(usage_message("cosine"), Contains("cosine takes T_MAX"));
  CHECK_THAT(usage_message("cosine:0"), Contains("t_max must be at least 1"));
  CHECK_THAT(usage_message("cosine:50:5"), Contains("expected KEY=VALUE, got '5'"));
  CHECK_THAT(usage_message("cosine:50:warmpu=5"), Contains("unknown key 'warmpu'"));
  CHECK_THAT(usage_message("cosine:50:warmup=5:warmup=6"), Contains("'warmup' given twice"));
  CHECK_THAT(usage_message("cosine:50:warmup=50"), Contains("warmup must be in [0, t_max)"));
  CHECK_THAT(usage_message("cosine:50:warmup=-1"), Contains("warmup must be in [0, t_max)"));
  CHECK_THAT(usage_message("cosine:50:warmup=5:warmup_start_factor=0"), Contains("warmup_start_factor must be in (0, 1]"));
  CHECK_THAT(usage_message("cosine:50:warmup_start_factor=0.5"), Contains("warmup_start_factor needs warmup"));
  CHECK_THAT(usage_message("cosine:50:eta_min=-0.1"), Contains("eta_min must be non-negative"));
  CHECK_THAT(usage_message("cosine: 50"), Contains("t_max must be an integer, got ' 50'"));
  // Every message shows the text and the accepted forms.
  CHECK_THAT(usage_message("step:0"), Contains("schedule 'step:0'") && Contains("cosine:T_MAX"));
}

TEST_CASE("bad schedule values are UsageErrors naming the field", "[schedule][errors]") {
  CHECK_THROWS_AS(LrSchedule::step(0), UsageError);
  CHECK_THROWS_WITH(LrSchedule::step(5, 0.0), Contains("gamma must be positive"));
  CHECK_THROWS_WITH(LrSchedule::cosine(5, 0.0, 5), Contains("warmup must be in [0, t_max)"));
  CHECK_THROWS_WITH(LrSchedule::cosine(5, 0.0, 1, 1.5), Contains("warmup_start_factor must be in (0, 1]"));
  CHECK_THROWS_WITH(LrSchedule::cosine(5, std::numeric_limits<double>::infinity()), Contains("eta_min"));
  CHECK_THROWS_WITH(LrSchedule::constant().lr(0.1, -1), Contains("epoch must be non-negative"));
  LrSchedule s = LrSchedule::cosine(5);
  s.t_max = 0;  // fields edited by hand are checked when used
  CHECK_THROWS_WITH(s.lr(0.1, 0), Contains("t_max must be at least 1"));
}
