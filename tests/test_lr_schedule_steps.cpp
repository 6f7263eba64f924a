// The per-step schedules (linear, onecycle) and the step unit: every schedule's rates
// against PyTorch's schedulers stepped one by one (tests/fixtures/torch_schedules.json,
// scripts/record_torch_schedules.py), the text form of the new kinds, onecycle's length
// filled in by with_total, and fit setting the rate before every step, resumed from a
// checkpoint mid-epoch bit for bit.
#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "datasets/circle.hpp"
#include "engine/fit.hpp"
#include "engine/lr_schedule.hpp"
#include "serialization/checkpoint_json.hpp"
#include "tests/error_message.hpp"
#include "tests/example_graphs.hpp"
#include "tests/same_bits.hpp"
#include "tests/temp_dir.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

TEST_CASE("every schedule follows PyTorch's scheduler, stepped one by one, to 1e-12", "[schedule][pytorch]") {
  std::ifstream in(std::filesystem::path(__FILE__).parent_path() / "fixtures" / "torch_schedules.json");
  REQUIRE(in);
  const nlohmann::json doc = nlohmann::json::parse(in);
  const double base_lr = doc.at("base_lr").get<double>();
  std::size_t cases = 0;
  for (const nlohmann::json& c : doc.at("cases")) {
    const std::string text = c.at("schedule").get<std::string>();
    const LrSchedule s = LrSchedule::parse(text);
    INFO(text << " against torch's " << c.at("torch").get<std::string>());
    const std::vector<double> want = c.at("rates").get<std::vector<double>>();
    double worst = 0;
    for (std::size_t t = 0; t < want.size(); ++t)
      worst = std::max(worst, std::abs(s.lr(base_lr, static_cast<std::int64_t>(t)) - want[t]) / want[t]);
    CHECK(worst < 1e-12);
    ++cases;
  }
  CHECK(cases == 7);
}

TEST_CASE("linear and onecycle: text, equality, with_total, bounds", "[schedule]") {
  const LrSchedule lin = LrSchedule::parse("linear:500:start_factor=0.01");
  CHECK(lin == LrSchedule::linear(500, 0.01));
  CHECK(LrSchedule::parse(lin.str()) == lin);
  CHECK(lin.lr(0.2, 0) == 0.2 * 0.01);
  CHECK(lin.lr(0.2, 10000) == 0.2);

  const LrSchedule one = LrSchedule::parse("onecycle:0.1");
  CHECK(one.total_steps == 0);
  CHECK_THAT(error_message<UsageError>([&] { one.lr(1, 0); }), Contains("total steps are not set"));
  const LrSchedule filled = one.with_total(100);
  CHECK(filled == LrSchedule::onecycle(0.1, 100));
  CHECK(filled.str() == "onecycle:0.1:total=100:pct_start=0.3:div_factor=25:final_div_factor=1e+04");
  CHECK(LrSchedule::parse(filled.str()) == filled);
  CHECK(filled.with_total(7) == filled);  // a length given stays
  CHECK(lin.with_total(7) == lin);
  CHECK(filled.lr(123, 0) == Approx(0.1 / 25));      // the base rate plays no part
  CHECK(filled.lr(1, 99) == filled.lr(1, 5000));     // held after the cycle
  CHECK(filled.lr(1, 99) == Approx(0.1 / 25 / 1e4));

  CHECK_THAT(error_message<UsageError>([] { LrSchedule::parse("onecycle:0.1:total=3"); }),
             Contains("leave onecycle's rise"));
  CHECK_THAT(error_message<UsageError>([] { LrSchedule::parse("onecycle:0.1:momentum=0.9"); }),
             Contains("unknown key 'momentum'"));
  CHECK_THAT(error_message<UsageError>([] { LrSchedule::parse("onecycle:-1"); }), Contains("max_lr must be positive"));
  CHECK_THAT(error_message<UsageError>([] { LrSchedule::parse("linear:0"); }), Contains("total_iters must be at least 1"));
  CHECK_THAT(error_message<UsageError>([] { LrSchedule::parse("linear:5:start_factor=0:end_factor=1"); }),
             Contains("start_factor must be in (0, 1]"));
  CHECK_THAT(error_message<UsageError>([] { LrSchedule::parse("linear:5:end_factor=1:end_factor=1"); }),
             Contains("given twice"));
}

namespace {

const ValueRoles kRoles{"x", "labels", "loss", "logits"};

FitOptions per_step_options() {
  FitOptions o;
  o.epochs = 4;
  o.batch = 32;  // 300 = 9 * 32 + 12: 10 steps an epoch
  o.seed = 3;
  o.eval_batch = 64;
  o.progress = Progress::Off;
  o.lr_schedule_unit = ScheduleUnit::Step;
  set_lr_schedule(o, LrSchedule::onecycle(0.2, 40));
  return o;
}

}  // namespace

TEST_CASE("fit per step: the rate of every step is the schedule's, and a resume continues it", "[schedule][fit]") {
  const CircleData train = make_circle(300, 41), val = make_circle(100, 42);
  const DataView tr{train.points.data(), train.labels.data(), train.size()};
  const DataView va{val.points.data(), val.labels.data(), val.size()};
  const LrSchedule s = LrSchedule::onecycle(0.2, 40);

  Model straight = small_classifier(5);
  SGD<float> straight_opt(straight, SgdOptions{0.01, 0.9});
  FitOptions o = per_step_options();
  std::vector<double> seen;
  o.on_epoch_end = [&](const EpochStats& e) {
    seen.push_back(e.lr);
    return true;
  };
  const FitResult full = fit(straight, straight_opt, kRoles, tr, va, o);
  REQUIRE(full.steps == 40);
  // Each epoch's line shows its first step's rate; the last step ran at step 39's.
  REQUIRE(seen.size() == 4);
  for (std::size_t e = 0; e < 4; ++e) CHECK(seen[e] == s.lr(0.01, static_cast<std::int64_t>(10 * e)));
  CHECK(straight_opt.learning_rate() == s.lr(0.01, 39));
  CHECK(full.state.schedule_unit == ScheduleUnit::Step);

  // The same run per epoch is another run.
  {
    Model m = small_classifier(5);
    SGD<float> opt(m, SgdOptions{0.01, 0.9});
    FitOptions e = per_step_options();
    e.lr_schedule_unit = ScheduleUnit::Epoch;
    set_lr_schedule(e, LrSchedule::onecycle(0.2, 4));
    fit(m, opt, kRoles, tr, va, e);
    CHECK_FALSE(same_bits(m.parameters, straight.parameters));
  }

  // Stopped after step 15 (mid-epoch 2), saved, resumed from the file: the same bits.
  TempDir dir;
  const std::string ckpt = dir.file("run.ckpt.json");
  {
    Model m = small_classifier(5);
    SGD<float> opt(m, SgdOptions{0.01, 0.9});
    FitOptions first = per_step_options();
    first.checkpoint = checkpoint_writer(ckpt);
    const auto inner = first.lr_schedule;
    first.lr_schedule = [inner](double base, std::int64_t step) {
      if (step == 14) std::raise(SIGINT);
      return inner(base, step);
    };
    const FitResult r = fit(m, opt, kRoles, tr, va, first);
    REQUIRE(r.status == FitStatus::Interrupted);
    REQUIRE(r.steps == 15);
  }
  Checkpoint c = load_checkpoint(ckpt);
  CHECK(c.state.schedule_unit == ScheduleUnit::Step);
  std::unique_ptr<Optimizer<float>> opt = make_optimizer(c.model, c.state.optimizer);
  FitOptions again = resume_options(c.state);
  CHECK(again.lr_schedule_unit == ScheduleUnit::Step);
  again.progress = Progress::Off;
  again.eval_batch = 64;
  again.resume = &c.state;
  const FitResult rest = fit(c.model, *opt, kRoles, tr, va, again);
  REQUIRE(rest.steps == 40);
  CHECK(same_bits(c.model.parameters, straight.parameters));

  // A resume under the other unit is refused.
  Checkpoint c2 = load_checkpoint(ckpt);
  std::unique_ptr<Optimizer<float>> opt2 = make_optimizer(c2.model, c2.state.optimizer);
  FitOptions wrong = resume_options(c2.state);
  wrong.progress = Progress::Off;
  wrong.lr_schedule_unit = ScheduleUnit::Epoch;
  wrong.resume = &c2.state;
  CHECK_THAT(error_message<UsageError>([&] { fit(c2.model, *opt2, kRoles, tr, va, wrong); }), Contains("per step"));
}
