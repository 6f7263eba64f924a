#include "serialization/checkpoint_json.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <utility>

#include "core/errors.hpp"
#include "engine/lr_schedule.hpp"
#include "serialization/json_reader.hpp"
#include "serialization/optimizer_state.hpp"

namespace plangrad {
namespace {

using nlohmann::json;

std::string hex64(std::uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

}  // namespace

nlohmann::json training_state_to_json(const TrainingState& st) {
  const BatchIteratorState& b = st.batches;
  json best = std::isfinite(st.best_loss) ? json(st.best_loss) : json(nullptr);
  json j = {
      {"format", kCheckpointFormatName},
      {"version", kCheckpointFormatVersion},
      {"options",
       {{"epochs", st.epochs},
        {"batch", st.batch},
        {"seed", st.seed},
        {"drop_last", st.drop_last},
        {"patience", st.patience},
        {"schedule", st.schedule},
        {"base_lr", st.base_lr}}},
      {"progress",
       {{"epochs_done", st.epochs_done},
        {"steps", st.steps},
        {"epoch_loss_sum", st.epoch_loss_sum},
        {"epoch_samples", st.epoch_samples},
        {"epoch_correct", st.epoch_correct},
        {"epoch_seconds", st.epoch_seconds},
        {"best_loss", std::move(best)},
        {"epochs_without_improvement", st.epochs_without_improvement}}},
      {"batches",
       {{"num_samples", b.num_samples},
        {"batch_size", b.batch_size},
        {"drop_last", b.drop_last},
        {"epoch", b.epoch},
        {"position", b.position},
        {"rng", {hex64(b.rng[0]), hex64(b.rng[1]), hex64(b.rng[2]), hex64(b.rng[3])}}}},
      {"optimizer", optimizer_state_to_json(st.optimizer)},
  };
  // Written only when set, so that a run without them writes what format version 1 wrote.
  if (st.clip.norm > 0) j["options"]["clip_norm"] = st.clip.norm;
  if (st.schedule_unit == ScheduleUnit::Step) j["options"]["schedule_unit"] = "step";
  if (!st.freeze.empty()) j["options"]["freeze"] = st.freeze;
  if (st.restore_best) j["options"]["restore_best"] = true;
  if (!st.best_weights.empty()) {
    j["progress"]["best_epoch"] = st.best_epoch;
    json& w = j["progress"]["best_weights"] = json::object();
    for (const auto& [name, values] : st.best_weights) w[name] = values;
  }
  if (st.clip.value > 0) j["options"]["clip_value"] = st.clip.value;
  // Only a distributed run's: a one-process checkpoint is written as before.
  if (st.ranks != 1) j["options"]["ranks"] = st.ranks;
  if (st.sync_batchnorm) j["options"]["sync_batchnorm"] = true;
  return j;
}

TrainingState training_state_from_json(const nlohmann::json& training, const std::string& source_name) {
  if (training.is_null())
    throw FormatError(source_name + ": /training: missing: a model file, not a checkpoint (no training state)");
  const JsonReader r(training, source_name, "/training");
  r.object();
  const std::optional<JsonReader> format = r.find("format");
  if (!format) r.fail("missing key \"format\": the document's training object is not a plangrad checkpoint's");
  if (format->string() != kCheckpointFormatName)
    format->fail("expected \"" + std::string(kCheckpointFormatName) + "\", got \"" + format->string() + "\"");
  const JsonReader version = r.member("version");
  if (version.integer(1) > kCheckpointFormatVersion)
    version.fail("version " + std::to_string(version.integer()) + " is newer than this program reads (" +
                 std::to_string(kCheckpointFormatVersion) + ")");

  TrainingState st;
  const JsonReader o = r.member("options").object();
  st.epochs = o.member("epochs").integer(1);
  const JsonReader batch = o.member("batch");
  st.batch = batch.unsigned_integer();
  if (st.batch < 1) batch.fail("the batch size must be at least 1, got 0");
  st.seed = o.member("seed").unsigned_integer();
  st.drop_last = o.member("drop_last").boolean();
  st.patience = o.member("patience").integer(0);
  st.schedule = o.member("schedule").string();
  if (const std::optional<JsonReader> unit = o.find("schedule_unit")) {
    if (unit->string() != "step" && unit->string() != "epoch")
      unit->fail("expected \"step\" or \"epoch\", got \"" + unit->string() + "\"");
    st.schedule_unit = unit->string() == "step" ? ScheduleUnit::Step : ScheduleUnit::Epoch;
  }
  if (const std::optional<JsonReader> freeze = o.find("freeze"))
    for (std::size_t i = 0; i < freeze->size(); ++i) st.freeze.push_back(freeze->element(i).string());
  if (const std::optional<JsonReader> restore = o.find("restore_best")) st.restore_best = restore->boolean();
  if (const std::optional<JsonReader> ranks = o.find("ranks")) {
    st.ranks = ranks->unsigned_integer();
    if (st.ranks < 1) ranks->fail("the number of ranks must be at least 1, got 0");
  }
  if (const std::optional<JsonReader> sync = o.find("sync_batchnorm")) st.sync_batchnorm = sync->boolean();
  const JsonReader base_lr = o.member("base_lr");
  st.base_lr = base_lr.number();
  if (!(st.base_lr > 0) || !std::isfinite(st.base_lr))
    base_lr.fail("the learning rate must be positive and finite, got " + base_lr.value().dump());
  for (auto [key, bound] : {std::pair{"clip_norm", &st.clip.norm}, std::pair{"clip_value", &st.clip.value}})
    if (const std::optional<JsonReader> v = o.find(key)) {
      *bound = v->number();
      if (!(*bound > 0) || !std::isfinite(*bound))
        v->fail("a clipping bound must be positive and finite, got " + v->value().dump());
    }

  const JsonReader p = r.member("progress").object();
  st.epochs_done = p.member("epochs_done").integer(0);
  st.steps = p.member("steps").integer(0);
  st.epoch_loss_sum = p.member("epoch_loss_sum").number();
  st.epoch_samples = p.member("epoch_samples").unsigned_integer();
  st.epoch_correct = p.member("epoch_correct").unsigned_integer();
  st.epoch_seconds = p.member("epoch_seconds").number();
  const JsonReader best = p.member("best_loss");  // null: none yet (JSON has no infinity)
  st.best_loss = best.value().is_null() ? std::numeric_limits<double>::infinity() : best.number();
  st.epochs_without_improvement = p.member("epochs_without_improvement").integer(0);
  if (const std::optional<JsonReader> best = p.find("best_weights")) {
    best->for_each_member([&](const std::string& name, const JsonReader& values) {
      const std::vector<double> v = values.numbers();
      st.best_weights[name].assign(v.begin(), v.end());
    });
    st.best_epoch = p.member("best_epoch").integer(1);
  }

  const JsonReader b = r.member("batches").object();
  BatchIteratorState& bs = st.batches;
  bs.num_samples = b.member("num_samples").unsigned_integer();
  const JsonReader batch_size = b.member("batch_size");
  bs.batch_size = batch_size.unsigned_integer();
  if (bs.batch_size != st.batch)
    batch_size.fail("the batch iterator's batch size " + std::to_string(bs.batch_size) + " differs from the run's " +
                    std::to_string(st.batch));
  bs.drop_last = b.member("drop_last").boolean();
  bs.epoch = b.member("epoch").unsigned_integer();
  const JsonReader position = b.member("position");
  bs.position = position.unsigned_integer();
  if (bs.position > bs.num_samples)
    position.fail("position " + std::to_string(bs.position) + " is past the " + std::to_string(bs.num_samples) +
                  " samples");
  const JsonReader rng = b.member("rng");
  if (rng.size() != 4) rng.fail("expected a list of 4 hex strings");
  for (std::size_t i = 0; i < 4; ++i) {
    const JsonReader word = rng.element(i);
    const std::string& h = word.string();
    if (h.empty() || h.size() > 16 || h.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      word.fail("expected up to 16 hex digits, got \"" + h + "\"");
    bs.rng[i] = std::stoull(h, nullptr, 16);
  }

  st.optimizer = optimizer_state_from_json(r.member("optimizer"));
  return st;
}

void save_checkpoint(const std::string& path, const Model& model, const TrainingState& state) {
  save_model_document(model, training_state_to_json(state), path);
}

Checkpoint load_checkpoint(const std::string& path) {
  JsonModelDocument doc = load_json_model_document(path);
  TrainingState state = training_state_from_json(doc.training, path);
  return {std::move(doc.model), std::move(state)};
}

std::function<void(const Model&, const TrainingState&)> checkpoint_writer(const std::string& path) {
  return [path](const Model& model, const TrainingState& state) { save_checkpoint(path, model, state); };
}

FitOptions resume_options(const TrainingState& state) {
  FitOptions o;
  o.epochs = state.epochs;
  o.batch = static_cast<std::size_t>(state.batch);
  o.seed = state.seed;
  o.drop_last = state.drop_last;
  o.patience = state.patience;
  o.clip = state.clip;
  o.freeze = state.freeze;
  o.restore_best = state.restore_best;
  o.lr_schedule_unit = state.schedule_unit;
  set_lr_schedule(o, LrSchedule::parse(state.schedule));
  return o;
}

}  // namespace plangrad
