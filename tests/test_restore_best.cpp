// Early stopping's restore_best: the model ends with the weights of the epoch with the
// best validation loss (not the last), an interrupted run keeps its last weights, and a
// run checkpointed and resumed restores the same epoch's weights, bit for bit.
#include <csignal>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "datasets/circle.hpp"
#include "engine/fit.hpp"
#include "engine/lr_schedule.hpp"
#include "serialization/checkpoint_json.hpp"
#include "tests/example_graphs.hpp"
#include "tests/same_bits.hpp"
#include "tests/temp_dir.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

const ValueRoles kRoles{"x", "labels", "loss", "logits"};

// Three epochs that learn, then three at a rate that makes the validation loss worse.
FitOptions options() {
  FitOptions o;
  o.epochs = 6;
  o.batch = 32;
  o.seed = 4;
  o.eval_batch = 50;
  o.progress = Progress::Off;
  o.restore_best = true;
  set_lr_schedule(o, LrSchedule::step(3, 40));
  return o;
}

struct Data {
  CircleData train = make_circle(300, 71), val = make_circle(100, 72);
  DataView tr() const { return {train.points.data(), train.labels.data(), train.size()}; }
  DataView va() const { return {val.points.data(), val.labels.data(), val.size()}; }
};

}  // namespace

TEST_CASE("restore_best gives the model the best epoch's weights", "[fit][restore_best]") {
  const Data d;
  Model m = small_classifier(8);
  SGD<float> sgd(m, SgdOptions{0.1, 0.9});
  FitOptions o = options();
  std::vector<std::map<std::string, Tensor<float>>> weights;
  std::vector<double> val_loss;
  o.on_epoch_end = [&](const EpochStats& s) {
    weights.push_back(m.parameters);
    val_loss.push_back(s.val_loss);
    return true;
  };
  const FitResult r = fit(m, sgd, kRoles, d.tr(), d.va(), o);
  REQUIRE(r.status == FitStatus::Completed);
  const std::size_t best = static_cast<std::size_t>(std::min_element(val_loss.begin(), val_loss.end()) - val_loss.begin());
  REQUIRE(best + 1 < val_loss.size());  // the last epoch is not the best: the test means something
  CHECK(r.restored_epoch == static_cast<std::int64_t>(best + 1));
  CHECK(same_bits(m.parameters, weights[best]));
  CHECK_FALSE(same_bits(m.parameters, weights.back()));

  // Off: the last epoch's weights.
  Model last = small_classifier(8);
  SGD<float> sgd2(last, SgdOptions{0.1, 0.9});
  FitOptions off = options();
  off.restore_best = false;
  const FitResult r2 = fit(last, sgd2, kRoles, d.tr(), d.va(), off);
  CHECK(r2.restored_epoch == 0);
  CHECK(same_bits(last.parameters, weights.back()));

  // The state round-trips through a checkpoint's JSON.
  const TrainingState back = training_state_from_json(nlohmann::json::parse(training_state_to_json(r.state).dump()), "<mem>");
  CHECK(back == r.state);
  CHECK(back.best_epoch == r.restored_epoch);
}

TEST_CASE("restore_best across a checkpoint: the resumed run restores the same weights", "[fit][restore_best][checkpoint]") {
  const Data d;
  Model straight = small_classifier(8);
  SGD<float> sgd(straight, SgdOptions{0.1, 0.9});
  const FitResult full = fit(straight, sgd, kRoles, d.tr(), d.va(), options());

  TempDir dir;
  const std::string ckpt = dir.file("run.ckpt.json");
  {
    Model m = small_classifier(8);
    SGD<float> opt(m, SgdOptions{0.1, 0.9});
    FitOptions o = options();
    o.checkpoint = checkpoint_writer(ckpt);
    o.on_epoch_end = [](const EpochStats& s) {
      if (s.epoch == 5) std::raise(SIGINT);
      return true;
    };
    const FitResult first = fit(m, opt, kRoles, d.tr(), d.va(), o);
    REQUIRE(first.status == FitStatus::Interrupted);
    CHECK(first.restored_epoch == 0);  // interrupted: the last weights stay
  }
  Checkpoint c = load_checkpoint(ckpt);
  REQUIRE(c.state.best_epoch == full.restored_epoch);  // the best epoch came before the stop
  std::unique_ptr<Optimizer<float>> opt = make_optimizer(c.model, c.state.optimizer);
  FitOptions o = resume_options(c.state);
  CHECK(o.restore_best);
  o.progress = Progress::Off;
  o.eval_batch = 50;
  o.resume = &c.state;
  const FitResult rest = fit(c.model, *opt, kRoles, d.tr(), d.va(), o);
  CHECK(rest.restored_epoch == full.restored_epoch);
  CHECK(same_bits(c.model.parameters, straight.parameters));
}
