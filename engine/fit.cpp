#include "engine/fit.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "core/errors.hpp"
#include "engine/executor.hpp"
#include "planner/plan.hpp"

namespace plangrad {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_sigint(int) { g_interrupted = 1; }

// Installs the SIGINT handler for the lifetime of a fit call and puts the previous one back.
class SigintGuard {
 public:
  explicit SigintGuard(bool enable) : enabled_(enable) {
    g_interrupted = 0;
    if (!enabled_) return;
    struct sigaction action {};
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;  // a second Ctrl-C kills as usual
    if (sigaction(SIGINT, &action, &previous_) != 0) enabled_ = false;
  }
  ~SigintGuard() {
    if (enabled_) sigaction(SIGINT, &previous_, nullptr);
  }
  SigintGuard(const SigintGuard&) = delete;
  SigintGuard& operator=(const SigintGuard&) = delete;

 private:
  bool enabled_;
  struct sigaction previous_ {};
};

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The declared input `name`: its floats per example (the dimensions after the batch).
std::size_t row_length(const Graph& graph, const std::string& name, const char* role) {
  if (name.empty()) throw UsageError(std::string("fit: the ") + role + " value must be named");
  const ValueDecl* v = graph.find_value(name);
  if (!v || v->kind != ValueKind::Input)
    throw UsageError(std::string("fit: the ") + role + " '" + name + "' is not an input of the graph");
  if (v->shape.empty() || v->shape[0] != kBatchDim)
    throw UsageError(std::string("fit: the ") + role + " input '" + name + "' is " + shape_str(v->shape) +
                     "; its first dimension must be the symbolic batch N");
  return numel(Shape(v->shape.begin() + 1, v->shape.end()));
}

std::size_t argmax(const float* p, std::size_t k) {
  std::size_t best = 0;
  for (std::size_t j = 1; j < k; ++j)
    if (p[j] > p[best]) best = j;
  return best;
}

// How many rows of `logits` [b, classes] predict their target row right.
std::size_t count_correct(const float* logits, std::size_t classes, const float* targets, std::size_t target_len,
                          std::size_t b) {
  std::size_t correct = 0;
  for (std::size_t i = 0; i < b; ++i) {
    const float* row = logits + i * classes;
    const float* t = targets + i * target_len;
    std::size_t truth;
    if (target_len > 1) truth = argmax(t, target_len);    // one-hot rows
    else if (classes == 1) truth = t[0] > 0.5f ? 1 : 0;  // a 0/1 label for one logit
    else truth = static_cast<std::size_t>(t[0]);         // a class index (the loss op checked it)
    const std::size_t predicted = classes == 1 ? (row[0] > 0.0f ? 1 : 0) : argmax(row, classes);
    correct += predicted == truth;
  }
  return correct;
}

// One executor per batch size a pass hands out: full batches, and a shorter last one.
// The views are taken once: a TensorRef copy copies its shape (a heap allocation).
struct BatchRunner {
  std::unique_ptr<Executor<float>> exec;
  float* x = nullptr;
  float* y = nullptr;
  const float* logits = nullptr;
  std::size_t classes = 0;
  const float* loss_value = nullptr;  // inference plans: the kept loss (Executor::loss() is for gradient plans)

  float loss() const { return loss_value ? *loss_value : exec->loss(); }

  BatchRunner(Model& model, const FitRoles& roles, PlanKind kind, std::size_t batch, Optimizer<float>* optimizer) {
    PlanRequest request;
    request.kind = kind;
    request.batch = static_cast<std::int64_t>(batch);
    if (kind == PlanKind::Inference) {
      request.mode = static_cast<int>(Mode::Eval);
      request.outputs = {roles.loss};
    } else {
      request.loss = roles.loss;
    }
    if (!roles.logits.empty()) request.outputs.push_back(roles.logits);
    exec = std::make_unique<Executor<float>>(model, make_plan(model.graph, request), optimizer);
    x = exec->input(roles.input).data;
    y = exec->input(roles.target).data;
    if (kind == PlanKind::Inference) {
      const TensorRef<const float> l = exec->value(roles.loss);
      if (l.size() != 1) throw UsageError("fit: the loss '" + roles.loss + "' must be a scalar, got " + shape_str(l.shape));
      loss_value = l.data;
    }
    if (!roles.logits.empty()) {
      const TensorRef<const float> l = exec->value(roles.logits);
      if (l.rank() != 2 || l.dim(0) != static_cast<Dim>(batch))
        throw UsageError("fit: the logits '" + roles.logits + "' must be [N, classes], got " + shape_str(l.shape) +
                         " at batch " + std::to_string(batch));
      logits = l.data;
      classes = static_cast<std::size_t>(l.dim(1));
    }
  }
};

struct Pass {
  std::unique_ptr<BatchRunner> full, rest;
  BatchRunner& for_size(std::size_t b, std::size_t batch) { return b == batch ? *full : *rest; }
};

// Formats a number for a JSON line: non-finite values are null.
// The shortest of %.15g .. %.17g that reads back exactly.
void json_number(std::FILE* f, const char* key, double v) {
  if (!std::isfinite(v)) {
    std::fprintf(f, "\"%s\":null,", key);
    return;
  }
  char buf[32];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::fprintf(f, "\"%s\":%s,", key, buf);
}

std::string format_seconds(double s) {
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

void print_epoch_line(std::FILE* out, const EpochStats& s, std::int64_t epochs, bool clear) {
  if (clear) std::fputs("\r\033[K", out);
  std::fprintf(out, "epoch %lld/%lld  loss %.5f", static_cast<long long>(s.epoch), static_cast<long long>(epochs),
               s.train_loss);
  if (std::isfinite(s.train_accuracy)) std::fprintf(out, "  acc %.4f", s.train_accuracy);
  if (std::isfinite(s.val_loss)) std::fprintf(out, "  val_loss %.5f", s.val_loss);
  if (std::isfinite(s.val_accuracy)) std::fprintf(out, "  val_acc %.4f", s.val_accuracy);
  std::fprintf(out, "  lr %.4g  %.2fs\n", s.lr, s.seconds);
  std::fflush(out);
}

void print_bar(std::FILE* out, std::int64_t epoch, std::int64_t epochs, std::size_t done, std::size_t total,
               double seconds, double loss) {
  constexpr int kWidth = 24;
  const double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  char bar[kWidth + 1];
  const int filled = static_cast<int>(frac * kWidth);
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
  bar[kWidth] = '\0';
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
  std::fprintf(out, "\r\033[Kepoch %lld/%lld [%s] %zu/%zu  %.0f samples/s  ETA %s  loss %.5f",
               static_cast<long long>(epoch), static_cast<long long>(epochs), bar, done, total, rate,
               format_seconds(eta).c_str(), loss);
  std::fflush(out);
}

void check_options(const FitOptions& o, const FitData& train) {
  if (o.epochs < 1) throw UsageError("fit: epochs must be at least 1, got " + std::to_string(o.epochs));
  if (o.batch == 0) throw UsageError("fit: the batch size must be positive");
  if (o.patience < 0) throw UsageError("fit: patience must be >= 0, got " + std::to_string(o.patience));
  if (train.n == 0 || !train.features || !train.targets) throw UsageError("fit: no training data");
  if (o.drop_last && o.batch > train.n)
    throw UsageError("fit: drop_last with a batch of " + std::to_string(o.batch) + " larger than the " +
                     std::to_string(train.n) + " training examples leaves no batch");
  if (!o.lr_schedule && o.lr_schedule_name != "constant")
    throw UsageError("fit: the learning-rate schedule '" + o.lr_schedule_name + "' has a name but no function");
}

}  // namespace

volatile std::sig_atomic_t& fit_interrupt_flag() { return g_interrupted; }

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
         patience == o.patience && schedule == o.schedule && base_lr == o.base_lr && epochs_done == o.epochs_done &&
         steps == o.steps && optimizer == o.optimizer && batches == o.batches && epoch_loss_sum == o.epoch_loss_sum &&
         epoch_samples == o.epoch_samples && epoch_correct == o.epoch_correct && epoch_seconds == o.epoch_seconds &&
         best_loss == o.best_loss && epochs_without_improvement == o.epochs_without_improvement;
}

FitResult fit(Model& model, Optimizer<float>& optimizer, const FitRoles& roles, const FitData& train,
              const FitData& validation, const FitOptions& options) {
  check_options(options, train);
  const std::size_t x_len = row_length(model.graph, roles.input, "input");
  const std::size_t y_len = row_length(model.graph, roles.target, "target");
  if (roles.loss.empty()) throw UsageError("fit: the loss value must be named");
  if (validation.n && (!validation.features || !validation.targets))
    throw UsageError("fit: validation data without features or targets");

  // The state: fresh, or the one to resume.
  TrainingState st;
  BatchIterator batches(train.n, options.batch, options.seed, options.drop_last);
  if (options.resume) {
    st = *options.resume;
    if (st.batches.num_samples != train.n)
      throw UsageError("fit: the state to resume was saved for " + std::to_string(st.batches.num_samples) +
                       " training examples, the data has " + std::to_string(train.n));
    if (st.batch != options.batch || st.drop_last != options.drop_last)
      throw UsageError("fit: the state to resume was saved with batch " + std::to_string(st.batch) +
                       (st.drop_last ? " (drop_last)" : "") + ", not batch " + std::to_string(options.batch) +
                       (options.drop_last ? " (drop_last)" : ""));
    if (st.schedule != options.lr_schedule_name)
      throw UsageError("fit: the run to resume was trained with the learning-rate schedule '" + st.schedule +
                       "', the options name '" + options.lr_schedule_name + "'");
    batches.set_state(st.batches);
    optimizer.set_state(st.optimizer);
    st.epochs = options.epochs;
    st.patience = options.patience;
  } else {
    st.epochs = options.epochs;
    st.batch = options.batch;
    st.seed = options.seed;
    st.drop_last = options.drop_last;
    st.patience = options.patience;
    st.schedule = options.lr_schedule_name;
    st.base_lr = optimizer.learning_rate();
  }

  // The plans, all made before the first step.
  const std::size_t batch = options.batch;
  Pass train_pass;
  if (train.n >= batch)
    train_pass.full = std::make_unique<BatchRunner>(model, roles, PlanKind::Training, batch, &optimizer);
  if (!options.drop_last && train.n % batch)
    train_pass.rest = std::make_unique<BatchRunner>(model, roles, PlanKind::Training, train.n % batch, &optimizer);
  const std::size_t eval_batch =
      std::min(validation.n, options.eval_batch ? options.eval_batch : std::size_t{1000});
  Pass val_pass;
  if (validation.n) {
    val_pass.full = std::make_unique<BatchRunner>(model, roles, PlanKind::Inference, eval_batch, nullptr);
    if (validation.n % eval_batch)
      val_pass.rest =
          std::make_unique<BatchRunner>(model, roles, PlanKind::Inference, validation.n % eval_batch, nullptr);
  }
  const bool accuracy = !roles.logits.empty();

  std::FILE* out = stdout;
  Progress progress = options.progress;
  if (progress == Progress::Auto) progress = isatty(fileno(out)) ? Progress::Bar : Progress::Lines;

  std::FILE* log = nullptr;
  if (!options.log_path.empty()) {
    log = std::fopen(options.log_path.c_str(), options.resume ? "a" : "w");
    if (!log) throw DataError(options.log_path + ": cannot open the log file for writing");
  }
  struct Closer {
    std::FILE* f;
    ~Closer() {
      if (f) std::fclose(f);
    }
  } closer{log};

  FitResult result;
  const auto checkpoint = [&] {
    st.optimizer = optimizer.state();
    st.batches = batches.get_state();
    if (options.checkpoint) options.checkpoint(model, st);
  };
  const auto finish = [&](FitStatus status) {
    result.status = status;
    result.epochs_done = st.epochs_done;
    result.steps = st.steps;
    st.optimizer = optimizer.state();
    st.batches = batches.get_state();
    result.state = st;
    return result;
  };

  SigintGuard sigint(options.handle_sigint);
  const std::size_t per_epoch = options.drop_last ? train.n / batch * batch : train.n;
  Span<const std::size_t> b;
  while (st.epochs_done < options.epochs) {
    const std::int64_t epoch = st.epochs_done;  // from 0
    const double lr = options.lr_schedule ? options.lr_schedule(st.base_lr, epoch) : st.base_lr;
    optimizer.set_learning_rate(lr);
    const auto start = Clock::now();
    auto last_draw = start;
    bool drew = false;

    while (batches.next(b)) {
      BatchRunner& r = train_pass.for_size(b.size(), batch);
      gather_rows(train.features, train.n, x_len, b, r.x);
      gather_rows(train.targets, train.n, y_len, b, r.y);
      r.exec->run();
      ++st.steps;
      const double loss = static_cast<double>(r.loss());
      st.epoch_loss_sum += loss * static_cast<double>(b.size());
      st.epoch_samples += b.size();
      if (accuracy) st.epoch_correct += count_correct(r.logits, r.classes, r.y, y_len, b.size());
      if (progress == Progress::Bar) {
        const auto now = Clock::now();
        if (now - last_draw > std::chrono::milliseconds(100)) {
          last_draw = now;
          drew = true;
          print_bar(out, epoch + 1, options.epochs, static_cast<std::size_t>(st.epoch_samples), per_epoch,
                    st.epoch_seconds + since(start), st.epoch_loss_sum / static_cast<double>(st.epoch_samples));
        }
      }
      if (g_interrupted) {
        st.epoch_seconds += since(start);
        checkpoint();
        if (progress != Progress::Off) {
          std::fprintf(out, "%sinterrupted in epoch %lld after step %lld\n", drew ? "\r\033[K" : "",
                       static_cast<long long>(epoch + 1), static_cast<long long>(st.steps));
          std::fflush(out);
        }
        return finish(FitStatus::Interrupted);
      }
    }

    // The epoch's end: validation, statistics, log, callbacks, checkpoint.
    EpochStats s;
    s.epoch = epoch + 1;
    s.lr = lr;
    const double samples = static_cast<double>(st.epoch_samples);
    s.train_loss = st.epoch_loss_sum / samples;
    if (accuracy) s.train_accuracy = static_cast<double>(st.epoch_correct) / samples;
    if (validation.n) {
      double loss_sum = 0;
      std::size_t correct = 0;
      for (std::size_t first = 0; first < validation.n; first += eval_batch) {
        const std::size_t size = std::min(eval_batch, validation.n - first);
        BatchRunner& r = val_pass.for_size(size, eval_batch);
        std::copy_n(validation.features + first * x_len, size * x_len, r.x);
        std::copy_n(validation.targets + first * y_len, size * y_len, r.y);
        r.exec->run();
        loss_sum += static_cast<double>(r.loss()) * static_cast<double>(size);
        if (accuracy) correct += count_correct(r.logits, r.classes, r.y, y_len, size);
      }
      s.val_loss = loss_sum / static_cast<double>(validation.n);
      if (accuracy) s.val_accuracy = static_cast<double>(correct) / static_cast<double>(validation.n);
    }
    s.seconds = st.epoch_seconds + since(start);
    s.steps = st.steps;

    st.epochs_done = epoch + 1;
    st.epoch_loss_sum = 0;
    st.epoch_samples = st.epoch_correct = 0;
    st.epoch_seconds = 0;
    const double monitored = validation.n ? s.val_loss : s.train_loss;
    if (monitored < st.best_loss) {
      st.best_loss = monitored;
      st.epochs_without_improvement = 0;
    } else {
      ++st.epochs_without_improvement;
    }
    result.history.push_back(s);

    if (log) {
      std::fprintf(log, "{\"epoch\":%lld,", static_cast<long long>(s.epoch));
      json_number(log, "loss", s.train_loss);
      json_number(log, "train_accuracy", s.train_accuracy);
      json_number(log, "val_loss", s.val_loss);
      json_number(log, "val_accuracy", s.val_accuracy);
      json_number(log, "lr", s.lr);
      json_number(log, "seconds", s.seconds);
      std::fprintf(log, "\"steps\":%lld}\n", static_cast<long long>(s.steps));
      std::fflush(log);
    }
    if (progress != Progress::Off) print_epoch_line(out, s, options.epochs, drew);

    const bool keep_going = !options.on_epoch_end || options.on_epoch_end(s);
    checkpoint();
    if (g_interrupted) return finish(FitStatus::Interrupted);
    if (!keep_going) return finish(FitStatus::Stopped);
    if (options.patience > 0 && st.epochs_without_improvement >= options.patience) {
      if (progress != Progress::Off) {
        std::fprintf(out, "early stopping: no improvement for %lld epochs\n",
                     static_cast<long long>(st.epochs_without_improvement));
        std::fflush(out);
      }
      return finish(FitStatus::EarlyStopped);
    }
  }
  return finish(FitStatus::Completed);
}

}  // namespace plangrad
