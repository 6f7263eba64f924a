#include "engine/fit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "core/errors.hpp"
#include "engine/batch_runner.hpp"
#include "engine/data_parallel.hpp"
#include "engine/interrupt.hpp"
#include "engine/train_log.hpp"

namespace plangrad {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void check_options(const FitOptions& o, const DataView& train) {
  if (o.epochs < 1) throw UsageError("fit: epochs must be at least 1, got " + std::to_string(o.epochs));
  if (o.batch == 0) throw UsageError("fit: the batch size must be positive");
  if (o.patience < 0) throw UsageError("fit: patience must be >= 0, got " + std::to_string(o.patience));
  if (train.n == 0 || (!o.train_rows && (!train.features || !train.targets)))
    throw UsageError("fit: no training data");
  if (o.drop_last && o.batch > train.n)
    throw UsageError("fit: drop_last with a batch of " + std::to_string(o.batch) + " larger than the " +
                     std::to_string(train.n) + " training examples leaves no batch");
  if (!o.lr_schedule && o.lr_schedule_name != "constant")
    throw UsageError("fit: the learning-rate schedule '" + o.lr_schedule_name + "' has a name but no function");
}

// "nan", "inf", "-inf" or the number.
std::string number(double v) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// The first parameter or state value that is not finite, as "parameter 'fc1.weight' holds
// nan at index 3"; empty when every one is finite.
std::string first_non_finite(const Model& model) {
  for (const auto* group : {&model.parameters, &model.state})
    for (const auto& [name, tensor] : *group) {
      const float* p = tensor.data();
      for (std::size_t i = 0; i < tensor.size(); ++i)
        if (!std::isfinite(p[i]))
          return std::string(group == &model.parameters ? "parameter" : "state") + " '" + name + "' holds " +
                 number(p[i]) + " at index " + std::to_string(i);
    }
  return {};
}

}  // namespace

const char* fit_status_name(FitStatus status) {
  switch (status) {
    case FitStatus::Completed: return "completed";
    case FitStatus::EarlyStopped: return "early_stopped";
    case FitStatus::Stopped: return "stopped";
    case FitStatus::Interrupted: return "interrupted";
  }
  return "?";
}

bool TrainingState::operator==(const TrainingState& o) const {
  return epochs == o.epochs && batch == o.batch && seed == o.seed && drop_last == o.drop_last &&
         patience == o.patience && schedule == o.schedule && schedule_unit == o.schedule_unit &&
         base_lr == o.base_lr && clip == o.clip && freeze == o.freeze && restore_best == o.restore_best &&
         ranks == o.ranks && sync_batchnorm == o.sync_batchnorm && best_weights == o.best_weights &&
         best_epoch == o.best_epoch &&
         epochs_done == o.epochs_done &&
         steps == o.steps && optimizer == o.optimizer && batches == o.batches && epoch_loss_sum == o.epoch_loss_sum &&
         epoch_samples == o.epoch_samples && epoch_correct == o.epoch_correct && epoch_seconds == o.epoch_seconds &&
         best_loss == o.best_loss && epochs_without_improvement == o.epochs_without_improvement;
}

FitResult fit(Model& model, Optimizer<float>& optimizer, const ValueRoles& roles, const DataView& train,
              const DataView& validation, const FitOptions& options) {
  check_options(options, train);
  // The roles are checked again where the plans are made; checked here too, so that a run
  // that does not fit fails before it restores an optimizer's state.
  row_length(model.graph, roles.input, "input", "fit");
  row_length(model.graph, roles.target, "target", "fit");
  if (roles.loss.empty()) throw UsageError("fit: the loss value must be named");
  if (validation.n && (!validation.features || !validation.targets))
    throw UsageError("fit: validation data without features or targets");

  // The state: fresh, or the one to resume.
  TrainingState st;
  BatchIterator batches(train.n, options.batch, options.seed, options.drop_last);
  const DataParallel dp(options.communicator, train.n, options.batch, options.drop_last, options.sync_batchnorm);
  // Synchronized batchnorm takes effect only with a communicator.
  const bool synced = options.sync_batchnorm && dp.on();
  if (options.resume) {
    st = *options.resume;
    if (st.batches.num_samples != train.n)
      throw UsageError("fit: the state to resume was saved for " + std::to_string(st.batches.num_samples) +
                       " training examples, the data has " + std::to_string(train.n));
    if (st.batch != options.batch || st.drop_last != options.drop_last)
      throw UsageError("fit: the state to resume was saved with batch " + std::to_string(st.batch) +
                       (st.drop_last ? " (drop_last)" : "") + ", not batch " + std::to_string(options.batch) +
                       (options.drop_last ? " (drop_last)" : ""));
    if (st.schedule != options.lr_schedule_name || st.schedule_unit != options.lr_schedule_unit)
      throw UsageError("fit: the run to resume was trained with the learning-rate schedule '" + st.schedule +
                       "' per " + (st.schedule_unit == ScheduleUnit::Step ? "step" : "epoch") + ", the options name '" +
                       options.lr_schedule_name + "' per " +
                       (options.lr_schedule_unit == ScheduleUnit::Step ? "step" : "epoch"));
    if (st.ranks != static_cast<std::uint64_t>(dp.ranks()))
      throw UsageError("fit: the run to resume was trained on " + std::to_string(st.ranks) + " rank(s), not " +
                       std::to_string(dp.ranks()) + ": resume it on " + std::to_string(st.ranks) +
                       " (mpirun -np " + std::to_string(st.ranks) + ")");
    if (st.sync_batchnorm != synced)
      throw UsageError(std::string("fit: the run to resume was trained with synchronized batchnorm ") +
                       (st.sync_batchnorm ? "on, not off: resume it with --sync-batchnorm"
                                          : "off, not on: resume it without --sync-batchnorm") +
                       " (FitOptions::sync_batchnorm)");
    if (!st.best_weights.empty())
      for (const auto* group : {&model.parameters, &model.state})
        for (const auto& [name, tensor] : *group) {
          const auto it = st.best_weights.find(name);
          if (it == st.best_weights.end() || it->second.size() != tensor.size())
            throw DataError("fit: the state to resume keeps no best weights of the model's '" + name + "' (" +
                            std::to_string(tensor.size()) + " values)");
        }
    batches.set_state(st.batches);
    optimizer.freeze(freeze_patterns(model.graph, options.freeze));  // before its state, which leaves them out
    optimizer.set_state(st.optimizer);
    st.epochs = options.epochs;
    st.patience = options.patience;
    st.clip = options.clip;
    st.freeze = options.freeze;
    st.restore_best = options.restore_best;
  } else {
    st.epochs = options.epochs;
    st.batch = options.batch;
    st.seed = options.seed;
    st.drop_last = options.drop_last;
    st.patience = options.patience;
    st.schedule = options.lr_schedule_name;
    st.schedule_unit = options.lr_schedule_unit;
    st.base_lr = optimizer.learning_rate();
    st.clip = options.clip;
    st.freeze = options.freeze;
    st.restore_best = options.restore_best;
    st.ranks = static_cast<std::uint64_t>(dp.ranks());
    st.sync_batchnorm = synced;
    optimizer.freeze(freeze_patterns(model.graph, options.freeze));
  }
  optimizer.set_clipping(options.clip);  // before the plans: clipping by norm shapes them

  // The plans, all made before the first step: training at the batch size and at the last
  // batch's (this rank's shares of them), and the validation pass's.
  const std::size_t batch = options.batch;
  std::unique_ptr<BatchRunner> full, rest;
  std::unique_ptr<GradientSync> full_sync, rest_sync;
  if (train.n >= batch) {
    full = std::make_unique<BatchRunner>(model, roles, PlanKind::Training, dp.shard(batch), &optimizer, "fit");
    full_sync = dp.attach(*full, batch);
  }
  if (!options.drop_last && train.n % batch) {
    rest = std::make_unique<BatchRunner>(model, roles, PlanKind::Training, dp.shard(train.n % batch), &optimizer,
                                         "fit");
    rest_sync = dp.attach(*rest, train.n % batch);
  }
  std::unique_ptr<Evaluator> validate;
  if (validation.n)
    validate = std::make_unique<Evaluator>(model, roles, validation.n,
                                           options.eval_batch ? options.eval_batch : std::size_t{1000});
  const bool accuracy = !roles.logits.empty();

  // The data, once, before the first step: a bad label is reported by its index in the set,
  // and a loss that is not finite can only mean divergence.
  const BatchRunner& any = full ? *full : *rest;
  if (!options.train_rows) check_data(train, any.x_len, any.y_len, any.label_classes, true, "fit: the training data");
  EpochRows shard(options.train_rows, any.x_len, any.y_len);
  if (validate) validate->check(validation, "fit: the validation data");
  if (const std::string bad = first_non_finite(model); !bad.empty())
    throw DataError("fit: before the first step, the model's " + bad);

  ProgressPrinter progress(dp.leader() ? options.progress : Progress::Off, options.epochs);
  TrainLog log;
  if (!options.log_path.empty() && dp.leader()) {
    if (options.resume) truncate_train_log(options.log_path, st.epochs_done);
    log = TrainLog(options.log_path, options.resume != nullptr);
  }

  FitResult result;
  const auto checkpoint = [&] {
    st.optimizer = optimizer.state();
    st.batches = batches.get_state();
    if (options.checkpoint && dp.leader()) options.checkpoint(model, st);
  };
  // Distributed: this rank's correct predictions since the last agreement, summed into
  // st.epoch_correct across ranks (with the running statistics averaged) before the epoch's
  // figures are used or a checkpoint is written.
  std::uint64_t local_correct = 0;
  const auto agree = [&] {
    if (!dp.on()) return;
    st.epoch_correct += dp.sum(local_correct);
    local_correct = 0;
    dp.average_written_state(model, (full ? *full : *rest).exec->plan());
  };
  const auto finish = [&](FitStatus status) {
    // The best epoch's weights back, once the run is over (an interrupted one goes on).
    if (options.restore_best && status != FitStatus::Interrupted && !st.best_weights.empty()) {
      for (auto* group : {&model.parameters, &model.state})
        for (auto& [name, tensor] : *group) {
          const std::vector<float>& saved = st.best_weights.at(name);
          std::copy(saved.begin(), saved.end(), tensor.data());
        }
      result.restored_epoch = st.best_epoch;
    }
    result.status = status;
    result.epochs_done = st.epochs_done;
    result.steps = st.steps;
    st.optimizer = optimizer.state();
    st.batches = batches.get_state();
    result.state = st;
    log.close();
    return result;
  };

  // Divergence: nothing more is logged or checkpointed, so the last checkpoint stays the
  // last good state; the model is left as the failing step made it.
  const auto diverged = [&](std::int64_t epoch, double loss, const std::string& what) {
    progress.end_bar();
    throw TrainingDiverged("training diverged at epoch " + std::to_string(epoch) + ", step " +
                               std::to_string(st.steps) + " (" + what + ")",
                           epoch, st.steps, loss, st.epochs_done);
  };
  // Checked before every checkpoint: a non-finite weight with a finite loss (a relu can hide
  // one) must not reach a checkpoint, which could not hold it anyway.
  const auto check_weights = [&](std::int64_t epoch, double loss) {
    const std::string bad = first_non_finite(model);
    if (!bad.empty()) diverged(epoch, loss, bad);
  };

  InterruptGuard interrupt(options.handle_sigint);
  const std::size_t per_epoch = options.drop_last ? train.n / batch * batch : train.n;
  Span<const std::size_t> b;
  while (st.epochs_done < options.epochs) {
    const std::int64_t epoch = st.epochs_done;  // from 0
    // Per step: the rate is set again before every step; the epoch's line shows its first.
    const bool per_step = options.lr_schedule && options.lr_schedule_unit == ScheduleUnit::Step;
    const double lr = !options.lr_schedule ? st.base_lr
                      : per_step           ? options.lr_schedule(st.base_lr, st.steps)
                                           : options.lr_schedule(st.base_lr, epoch);
    optimizer.set_learning_rate(lr);
    const auto start = Clock::now();
    progress.start_epoch(epoch + 1, per_epoch, st.epoch_seconds);
    if (shard.on()) shard.load(batches, dp, any.label_classes, train.source);

    while (batches.next(b)) {
      const bool is_full = b.size() == batch;
      BatchRunner& r = is_full ? *full : *rest;
      GradientSync* sync = (is_full ? full_sync : rest_sync).get();
      const Span<const std::size_t> mine = dp.rows(b);
      if (shard.on()) {
        shard.take(mine.size(), r.x, r.y);
      } else {
        gather_rows(train.features, train.n, r.x_len, mine, r.x);
        gather_rows(train.targets, train.n, r.y_len, mine, r.y);
      }
      // Dropout's masks: a function of the seed, the step and the row's place in the global
      // batch alone, so a resumed run draws what the uninterrupted one drew (the step count
      // is in the checkpoint) and R ranks draw what one process draws.
      r.exec->random() = StepRandom{st.seed, static_cast<std::uint64_t>(st.steps), dp.first_row(b.size())};
      if (per_step) optimizer.set_learning_rate(options.lr_schedule(st.base_lr, st.steps));
      r.run();
      ++st.steps;
      const float loss = sync ? sync->global_loss() : r.loss();
      if (!std::isfinite(loss)) diverged(epoch + 1, loss, "loss = " + number(loss));
      st.epoch_loss_sum += static_cast<double>(loss) * static_cast<double>(b.size());
      st.epoch_samples += b.size();
      if (accuracy)
        (sync ? local_correct : st.epoch_correct) += count_correct(r.logits, r.columns, r.y, r.y_len, mine.size());
      progress.step(static_cast<std::size_t>(st.epoch_samples), st.epoch_loss_sum);
      if (sync ? sync->any_interrupted() : InterruptGuard::requested()) {
        agree();
        check_weights(epoch + 1, loss);
        st.epoch_seconds += since(start);
        checkpoint();
        progress.interrupted(epoch + 1, st.steps);
        return finish(FitStatus::Interrupted);
      }
    }

    // The epoch's end: validation, statistics, log, callbacks, checkpoint.
    agree();
    EpochStats s;
    s.epoch = epoch + 1;
    s.lr = lr;
    const double samples = static_cast<double>(st.epoch_samples);
    s.train_loss = st.epoch_loss_sum / samples;
    if (accuracy) s.train_accuracy = static_cast<double>(st.epoch_correct) / samples;
    if (validate) {
      const EvalResult v = validate->run(validation, options.communicator);
      s.val_loss = v.loss;
      s.val_accuracy = v.accuracy;
      s.val_precision = v.precision;
      s.val_recall = v.recall;
      s.val_auc = v.auc;
      s.val_rmse = v.rmse;
      s.val_mae = v.mae;
      s.val_r2 = v.r2;
    }
    s.seconds = st.epoch_seconds + since(start);
    s.steps = st.steps;
    check_weights(epoch + 1, s.train_loss);

    st.epochs_done = epoch + 1;
    st.epoch_loss_sum = 0;
    st.epoch_samples = st.epoch_correct = 0;
    st.epoch_seconds = 0;
    const double monitored = validate ? s.val_loss : s.train_loss;
    if (monitored < st.best_loss) {
      st.best_loss = monitored;
      st.epochs_without_improvement = 0;
      if (options.restore_best) {
        for (const auto* group : {&model.parameters, &model.state})
          for (const auto& [name, tensor] : *group)
            st.best_weights[name].assign(tensor.data(), tensor.data() + tensor.size());
        st.best_epoch = epoch + 1;
      }
    } else {
      ++st.epochs_without_improvement;
    }
    result.history.push_back(s);

    log.write(s);
    progress.epoch_end(s);

    const bool keep_going = !options.on_epoch_end || options.on_epoch_end(s);
    checkpoint();
    if (!dp.on() && InterruptGuard::requested()) return finish(FitStatus::Interrupted);
    if (!keep_going) return finish(FitStatus::Stopped);
    if (options.patience > 0 && st.epochs_without_improvement >= options.patience) {
      progress.early_stopped(st.epochs_without_improvement);
      return finish(FitStatus::EarlyStopped);
    }
  }
  return finish(FitStatus::Completed);
}

}  // namespace plangrad
