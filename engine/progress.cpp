#include "engine/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <string>

namespace plangrad {
namespace {

std::string format_seconds(double s) {
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

// "\r" and "erase to the end of the line": the next text replaces the bar.
constexpr const char* kClearLine = "\r\033[K";

}  // namespace

ProgressPrinter::ProgressPrinter(Progress mode, std::int64_t epochs, std::FILE* out)
    : mode_(mode), epochs_(epochs), out_(out) {
  if (mode_ == Progress::Auto) mode_ = isatty(fileno(out_)) ? Progress::Bar : Progress::Lines;
}

void ProgressPrinter::start_epoch(std::int64_t epoch, std::size_t total, double carried_seconds) {
  epoch_ = epoch;
  total_ = total;
  carried_seconds_ = carried_seconds;
  start_ = last_draw_ = Clock::now();
  drew_ = false;
}

void ProgressPrinter::step(std::size_t done, double loss_sum) {
  if (mode_ != Progress::Bar) return;
  const auto now = Clock::now();
  if (now - last_draw_ <= std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  drew_ = true;
  constexpr int kWidth = 24;
  const double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  char bar[kWidth + 1];
  const int filled = static_cast<int>(frac * kWidth);
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
  bar[kWidth] = '\0';
  const double seconds = carried_seconds_ + std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  const double loss = done ? loss_sum / static_cast<double>(done) : 0.0;
  std::fprintf(out_, "%sepoch %lld/%lld [%s] %zu/%zu  %.0f samples/s  ETA %s  loss %.5f", kClearLine,
               static_cast<long long>(epoch_), static_cast<long long>(epochs_), bar, done, total_, rate,
               format_seconds(eta).c_str(), loss);
  std::fflush(out_);
}

void ProgressPrinter::epoch_end(const EpochStats& s) {
  if (mode_ == Progress::Off) return;
  if (drew_) std::fputs(kClearLine, out_);
  drew_ = false;
  std::fprintf(out_, "epoch %lld/%lld  loss %.5f", static_cast<long long>(s.epoch), static_cast<long long>(epochs_),
               s.train_loss);
  if (std::isfinite(s.train_accuracy)) std::fprintf(out_, "  acc %.4f", s.train_accuracy);
  if (std::isfinite(s.val_loss)) std::fprintf(out_, "  val_loss %.5f", s.val_loss);
  if (std::isfinite(s.val_accuracy)) std::fprintf(out_, "  val_acc %.4f", s.val_accuracy);
  if (std::isfinite(s.val_auc)) std::fprintf(out_, "  val_auc %.4f", s.val_auc);
  if (std::isfinite(s.val_rmse)) std::fprintf(out_, "  val_rmse %.5g  val_r2 %.4f", s.val_rmse, s.val_r2);
  std::fprintf(out_, "  lr %.4g  %.2fs\n", s.lr, s.seconds);
  std::fflush(out_);
}

void ProgressPrinter::interrupted(std::int64_t epoch, std::int64_t steps) {
  if (mode_ == Progress::Off) return;
  std::fprintf(out_, "%sinterrupted in epoch %lld after step %lld\n", drew_ ? kClearLine : "",
               static_cast<long long>(epoch), static_cast<long long>(steps));
  drew_ = false;
  std::fflush(out_);
}

void ProgressPrinter::end_bar() {
  if (!drew_) return;
  std::fputc('\n', out_);
  drew_ = false;
  std::fflush(out_);
}

void ProgressPrinter::early_stopped(std::int64_t epochs_without_improvement) {
  if (mode_ == Progress::Off) return;
  std::fprintf(out_, "early stopping: no improvement for %lld epochs\n",
               static_cast<long long>(epochs_without_improvement));
  std::fflush(out_);
}

}  // namespace plangrad
