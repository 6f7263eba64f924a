#include "engine/train_log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <fstream>
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
  // The other validation figures only where measured: a classifier's lines keep their keys.
  for (const auto& [key, v] : {std::pair<const char*, double>{"val_precision", s.val_precision},
                               {"val_recall", s.val_recall}, {"val_auc", s.val_auc}, {"val_rmse", s.val_rmse},
                               {"val_mae", s.val_mae}, {"val_r2", s.val_r2}})
    if (std::isfinite(v)) line[key] = v;
  line["lr"] = number(s.lr);
  line["seconds"] = number(s.seconds);
  line["steps"] = s.steps;
  return line.dump();
}

std::size_t truncate_train_log(const std::string& path, std::int64_t epochs_done) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot read", errno);
  constexpr std::uint64_t kWhole = UINT64_MAX;
  std::uint64_t pos = 0, keep = kWhole;  // keep: the bytes that stay
  std::size_t cut = 0, number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (in.eof()) {  // no newline: a line cut short
      keep = std::min(keep, pos);
      ++cut;
      break;
    }
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || !j.contains("epoch") || !j["epoch"].is_number_integer())
        throw DataError(path + ": line " + std::to_string(number) +
                        " is not a line of a training log (a JSON object with an integer \"epoch\"); "
                        "the log is left as it is");
      if (keep == kWhole && j["epoch"].get<std::int64_t>() > epochs_done) keep = pos;
    }
    if (keep != kWhole) ++cut;
    pos += line.size() + 1;
  }
  if (in.bad()) fail(path, "cannot read", errno);
  if (keep != kWhole && ::truncate(path.c_str(), static_cast<off_t>(keep)) != 0) fail(path, "cannot truncate", errno);
  return cut;
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
