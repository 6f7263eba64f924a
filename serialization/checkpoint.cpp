#include "serialization/checkpoint.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include "core/errors.hpp"
#include "engine/lr_schedule.hpp"
#include "serialization/model_json.hpp"

namespace plangrad {
namespace {

using nlohmann::json;

std::string hex64(std::uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

// A field reader that names the JSON path of whatever is wrong.
class Reader {
 public:
  Reader(const json& node, std::string source, std::string path)
      : node_(node), source_(std::move(source)), path_(std::move(path)) {
    if (!node_.is_object()) fail(path_, "expected an object");
  }

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw FormatError(source_ + ": " + path + ": " + what);
  }
  std::string at(const std::string& key) const { return path_ + "/" + json_pointer_token(key); }

  const json& field(const std::string& key) const {
    const auto it = node_.find(key);
    if (it == node_.end()) fail(at(key), "missing");
    return *it;
  }
  Reader object(const std::string& key) const { return Reader(field(key), source_, at(key)); }

  double number(const std::string& key) const {
    const json& v = field(key);
    if (!v.is_number()) fail(at(key), "expected a number");
    return v.get<double>();
  }
  // null: +infinity (JSON has no infinity)
  double number_or_inf(const std::string& key) const {
    if (field(key).is_null()) return std::numeric_limits<double>::infinity();
    return number(key);
  }
  std::int64_t integer(const std::string& key, std::int64_t min = 0) const {
    const json& v = field(key);
    if (!v.is_number_integer()) fail(at(key), "expected an integer");
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
      fail(at(key), "out of range");
    const std::int64_t i = v.get<std::int64_t>();
    if (i < min) fail(at(key), "expected an integer >= " + std::to_string(min));
    return i;
  }
  std::uint64_t unsigned_integer(const std::string& key) const {
    const json& v = field(key);
    if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<std::int64_t>() < 0))
      fail(at(key), "expected a non-negative integer");
    return v.get<std::uint64_t>();
  }
  bool boolean(const std::string& key) const {
    const json& v = field(key);
    if (!v.is_boolean()) fail(at(key), "expected true or false");
    return v.get<bool>();
  }
  std::string string(const std::string& key) const {
    const json& v = field(key);
    if (!v.is_string()) fail(at(key), "expected a string");
    return v.get<std::string>();
  }
  std::vector<double> numbers(const std::string& key) const {
    const json& v = field(key);
    if (!v.is_array()) fail(at(key), "expected a list of numbers");
    std::vector<double> out;
    out.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_number()) fail(at(key) + "/" + std::to_string(i), "expected a number");
      out.push_back(v[i].get<double>());
    }
    return out;
  }
  const json& node() const { return node_; }
  const std::string& path() const { return path_; }

 private:
  const json& node_;
  std::string source_, path_;
};

json optimizer_to_json(const OptimizerState& s) {
  json parameters = json::object();
  for (const auto& [name, p] : s.parameters) {
    json buffers = json::object();
    for (const auto& [bname, values] : p.buffers) buffers[bname] = values;
    parameters[name] = {{"started", p.started}, {"buffers", std::move(buffers)}};
  }
  json options = json::object();
  for (const auto& [k, v] : s.options) options[k] = v;
  return {{"kind", s.kind},
          {"step", s.step},
          {"learning_rate", s.learning_rate},
          {"options", std::move(options)},
          {"parameters", std::move(parameters)}};
}

OptimizerState optimizer_from_json(const Reader& r) {
  OptimizerState s;
  s.kind = r.string("kind");
  s.step = r.integer("step");
  s.learning_rate = r.number("learning_rate");
  const Reader options = r.object("options");
  for (const auto& [k, v] : options.node().items()) s.options[k] = options.number(k);
  const Reader parameters = r.object("parameters");
  for (const auto& [name, v] : parameters.node().items()) {
    const Reader p = parameters.object(name);
    ParameterState& ps = s.parameters[name];
    ps.started = p.boolean("started");
    const Reader buffers = p.object("buffers");
    for (const auto& [bname, b] : buffers.node().items()) ps.buffers[bname] = buffers.numbers(bname);
  }
  return s;
}

}  // namespace

nlohmann::json training_state_to_json(const TrainingState& st) {
  const BatchIteratorState& b = st.batches;
  json best = std::isfinite(st.best_loss) ? json(st.best_loss) : json(nullptr);
  return {
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
      {"optimizer", optimizer_to_json(st.optimizer)},
  };
}

TrainingState training_state_from_json(const nlohmann::json& training, const std::string& source_name) {
  if (training.is_null())
    throw FormatError(source_name + ": /training: missing: a model file, not a checkpoint (no training state)");
  const Reader r(training, source_name, "/training");
  if (!training.contains("format"))
    r.fail("/training/format", "missing: the document's training object is not a plangrad checkpoint's");
  const std::string format = r.string("format");
  if (format != kCheckpointFormatName)
    r.fail(r.at("format"), "expected \"" + std::string(kCheckpointFormatName) + "\", got \"" + format + "\"");
  const std::int64_t version = r.integer("version", 1);
  if (version > kCheckpointFormatVersion)
    r.fail(r.at("version"), "version " + std::to_string(version) + " is newer than this program reads (" +
                                std::to_string(kCheckpointFormatVersion) + ")");

  TrainingState st;
  const Reader o = r.object("options");
  st.epochs = o.integer("epochs", 1);
  st.batch = o.unsigned_integer("batch");
  st.seed = o.unsigned_integer("seed");
  st.drop_last = o.boolean("drop_last");
  st.patience = o.integer("patience");
  st.schedule = o.string("schedule");
  st.base_lr = o.number("base_lr");

  const Reader p = r.object("progress");
  st.epochs_done = p.integer("epochs_done");
  st.steps = p.integer("steps");
  st.epoch_loss_sum = p.number("epoch_loss_sum");
  st.epoch_samples = p.unsigned_integer("epoch_samples");
  st.epoch_correct = p.unsigned_integer("epoch_correct");
  st.epoch_seconds = p.number("epoch_seconds");
  st.best_loss = p.number_or_inf("best_loss");
  st.epochs_without_improvement = p.integer("epochs_without_improvement");

  const Reader b = r.object("batches");
  BatchIteratorState& bs = st.batches;
  bs.num_samples = b.unsigned_integer("num_samples");
  bs.batch_size = b.unsigned_integer("batch_size");
  bs.drop_last = b.boolean("drop_last");
  bs.epoch = b.unsigned_integer("epoch");
  bs.position = b.unsigned_integer("position");
  const json& rng = b.field("rng");
  if (!rng.is_array() || rng.size() != 4) b.fail(b.at("rng"), "expected a list of 4 hex strings");
  for (std::size_t i = 0; i < 4; ++i) {
    const std::string where = b.at("rng") + "/" + std::to_string(i);
    if (!rng[i].is_string()) b.fail(where, "expected a hex string");
    const std::string h = rng[i].get<std::string>();
    if (h.empty() || h.size() > 16 || h.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      b.fail(where, "expected up to 16 hex digits, got \"" + h + "\"");
    bs.rng[i] = std::stoull(h, nullptr, 16);
  }

  st.optimizer = optimizer_from_json(r.object("optimizer"));
  return st;
}

void save_checkpoint(const std::string& path, const Model& model, const TrainingState& state) {
  ModelDocument doc{model, training_state_to_json(state)};
  save_model_document(doc, path);
}

Checkpoint load_checkpoint(const std::string& path) {
  ModelDocument doc = load_model_document(path);
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
  set_lr_schedule(o, LrSchedule::parse(state.schedule));
  return o;
}

}  // namespace plangrad
