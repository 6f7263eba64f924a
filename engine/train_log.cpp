#include "engine/train_log.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/errors.hpp"

namespace plangrad {
namespace {

nlohmann::ordered_json number(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

[[noreturn]] void fail(const std::string& path, const char* what, int error) {
  throw DataError(path + ": " + what + " the training log: " + (error ? std::strerror(error) : "I/O error"));
}

}  // namespace

std::string train_log_line(const EpochStats& s) {
  nlohmann::ordered_json line;
  line["epoch"] = s.epoch;
  line["loss"] = number(s.train_loss);
  line["train_accuracy"] = number(s.train_accuracy);
  line["val_loss"] = number(s.val_loss);
  line["val_accuracy"] = number(s.val_accuracy);
  line["lr"] = number(s.lr);
  line["seconds"] = number(s.seconds);
  line["steps"] = s.steps;
  return line.dump();
}

TrainLog::TrainLog(const std::string& path, bool append) : path_(path) {
  file_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (!file_) fail(path_, "cannot open", errno);
}

TrainLog::~TrainLog() {
  if (file_) std::fclose(file_);
}

TrainLog::TrainLog(TrainLog&& other) noexcept
    : path_(std::move(other.path_)), file_(std::exchange(other.file_, nullptr)) {}

TrainLog& TrainLog::operator=(TrainLog&& other) noexcept {
  if (this != &other) {
    if (file_) std::fclose(file_);
    path_ = std::move(other.path_);
    file_ = std::exchange(other.file_, nullptr);
  }
  return *this;
}

void TrainLog::write(const EpochStats& stats) {
  if (!file_) return;
  const std::string line = train_log_line(stats) + "\n";
  errno = 0;
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) fail(path_, "cannot write", errno);
  if (std::fflush(file_) != 0) fail(path_, "cannot write", errno);
}

void TrainLog::close() {
  if (!file_) return;
  std::FILE* f = std::exchange(file_, nullptr);
  errno = 0;
  if (std::fclose(f) != 0) fail(path_, "cannot close", errno);
}

}  // namespace plangrad
