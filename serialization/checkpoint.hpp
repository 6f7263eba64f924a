/// \file
/// Checkpoints: a model file (serialization/model_json.hpp) whose "training" object holds
/// the TrainingState of a fit run (engine/fit.hpp) -- the optimizer's snapshot, the batch
/// iterator's epoch, position and generator, the epoch and step counters, the early-stopping
/// record and the options -- so one JSON document continues a run exactly:
/// \code
///   FitOptions o = ...;
///   o.checkpoint = checkpoint_writer("run.ckpt.json");   // written at every epoch end
///   fit(model, optimizer, roles, train, val, o);
///   ...later, in a fresh process...
///   Checkpoint c = load_checkpoint("run.ckpt.json");
///   auto optimizer = make_optimizer(c.model, c.state.optimizer);
///   FitOptions r = resume_options(c.state);              // epochs, batch, seed, schedule...
///   r.resume = &c.state;
///   fit(c.model, *optimizer, roles, train, val, r);      // bit-identical to never stopping
/// \endcode
/// The document is still a model file: plangrad inspect/eval/plan read it, and ignore the
/// "training" object. Its layout (all numbers exact: doubles with 17 digits, the generator's
/// four 64-bit words as 16-digit hex strings):
/// \code
///   "training": {
///     "format": "plangrad-checkpoint", "version": 1,
///     "options": {"epochs", "batch", "seed", "drop_last", "patience", "schedule", "base_lr"},
///     "progress": {"epochs_done", "steps", "epoch_loss_sum", "epoch_samples", "epoch_correct",
///                  "epoch_seconds", "best_loss" (null: none yet), "epochs_without_improvement"},
///     "batches": {"num_samples", "batch_size", "drop_last", "epoch", "position", "rng": [4 hex]},
///     "optimizer": {"kind", "step", "learning_rate", "options": {name: number},
///                   "parameters": {name: {"started": bool, "buffers": {name: [numbers]}}}}
///   }
/// \endcode
/// (the "optimizer" object in detail: serialization/optimizer_state.hpp; the state as a
/// JSON value, for the library and its tests: serialization/checkpoint_json.hpp).
#pragma once

#include <functional>
#include <string>

#include "engine/fit.hpp"
#include "core/model.hpp"

namespace plangrad {

/// The "format" of a checkpoint's "training" object.
inline constexpr const char* kCheckpointFormatName = "plangrad-checkpoint";
/// The "version" of a checkpoint's "training" object.
inline constexpr int kCheckpointFormatVersion = 1;

/// The model and the state as one model document, written atomically (save_model_document):
/// the file is the old checkpoint or the whole new one, never a mix.
void save_checkpoint(const std::string& path, const Model& model, const TrainingState& state);

/// What a checkpoint file holds.
struct Checkpoint {
  Model model;          ///< the model at the checkpoint
  TrainingState state;  ///< the run's state, to continue it (FitOptions::resume)
};
/// DataError for a missing file; FormatError for a bad model, or a model file without a
/// checkpoint's "training" object, or a state that is not one (naming its JSON path).
Checkpoint load_checkpoint(const std::string& path);

/// A FitOptions::checkpoint callback that saves to `path` (save_checkpoint).
std::function<void(const Model&, const TrainingState&)> checkpoint_writer(const std::string& path);

/// The FitOptions a run was started with (epochs, batch, seed, drop_last, patience, and the
/// learning-rate schedule rebuilt from its name by LrSchedule::parse), everything else default.
/// Set `resume` to the state before calling fit.
FitOptions resume_options(const TrainingState& state);

}  // namespace plangrad
