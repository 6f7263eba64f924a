#include "engine/data_parallel.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "core/errors.hpp"

namespace plangrad {

DataParallel::DataParallel(Communicator* comm, std::size_t n, std::size_t batch, bool drop_last, bool sync_batchnorm)
    : comm_(comm) {
  if (!comm_) return;
  rank_ = comm_->rank();
  ranks_ = comm_->size();
  const auto R = static_cast<std::size_t>(ranks_);
  if (n >= batch && batch < R)
    throw UsageError("fit: a batch of " + std::to_string(batch) + " cannot be split over " + std::to_string(R) +
                     " ranks: every rank needs at least one row of each batch");
  const std::size_t last = drop_last ? 0 : n % batch;
  if (last > 0 && last < R)
    throw UsageError("fit: the last batch of each epoch has " + std::to_string(last) + " rows (" + std::to_string(n) +
                     " examples, batch " + std::to_string(batch) + "), fewer than the " + std::to_string(R) +
                     " ranks: use --drop-last, another batch size, or fewer ranks");
  if (sync_batchnorm) {
    if (batch_stats_sum()) throw UsageError("fit: synchronized batchnorm is already in use by another run");
    stats_.comm = comm_;
    set_batch_stats_sum(&stats_);
    synced_ = true;
  }
}

DataParallel::~DataParallel() {
  if (synced_) set_batch_stats_sum(nullptr);
}

std::unique_ptr<GradientSync> DataParallel::attach(BatchRunner& runner, std::size_t global_batch) const {
  if (!comm_) return nullptr;
  const float seed = static_cast<float>(static_cast<double>(shard(global_batch)) / static_cast<double>(global_batch));
  runner.exec->set_loss_seed(seed);
  auto sync = std::make_unique<GradientSync>(*comm_, *runner.exec, kBucketFloats, seed);
  runner.exec->set_update_sink(sync.get());
  return sync;
}

void DataParallel::average_written_state(Model& model, const Plan& plan) const {
  if (!comm_ || synced_) return;
  std::set<std::string> written;  // by name: the same order on every rank
  for (const NodeInfo& node : plan.graph.nodes)
    if (node.op->writes_state)
      for (int v : node.inputs)
        if (plan.graph.values[static_cast<std::size_t>(v)].role == ValueRole::State)
          written.insert(plan.graph.values[static_cast<std::size_t>(v)].name);
  const float R = static_cast<float>(ranks_);
  for (const std::string& name : written) {
    Tensor<float>& t = model.state.at(name);
    comm_->sum(t.data(), t.size());
    for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] /= R;
  }
}

std::uint64_t DataParallel::sum(std::uint64_t count) const {
  if (!comm_) return count;
  double v = static_cast<double>(count);  // exact below 2^53
  comm_->sum(&v, 1);
  return static_cast<std::uint64_t>(v);
}

void EpochRows::load(const BatchIterator& batches, const DataParallel& dp, std::size_t classes,
                     const std::string& source_name) {
  const Span<const std::size_t> order = batches.order();
  const std::size_t n = order.size(), batch = batches.batch_size();
  indices_.clear();
  for (std::size_t pos = static_cast<std::size_t>(batches.get_state().position); pos < n;) {
    const std::size_t take = std::min(batch, n - pos);
    if (batches.drop_last() && take < batch) break;
    const Span<const std::size_t> mine = dp.rows({order.ptr + pos, take});
    indices_.insert(indices_.end(), mine.begin(), mine.end());
    pos += take;
  }
  x_.resize(indices_.size() * x_len_);
  y_.resize(indices_.size() * y_len_);
  source_->read({indices_.data(), indices_.size()}, x_.data(), y_.data());
  next_ = 0;
  const auto fail = [&](std::size_t k, const std::string& what) {
    throw DataError("fit: the training data: example " + std::to_string(indices_[k]) +
                    (source_name.empty() ? "" : " of " + source_name) + ": " + what);
  };
  const auto number = [](float v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
    return std::string(buf);
  };
  for (std::size_t k = 0; k < indices_.size(); ++k) {
    if (classes > 0 && y_len_ == 1) {
      const float t = y_[k];
      if (!(t >= 0.0f && t < static_cast<float>(classes)) || t != std::floor(t))
        fail(k, "label " + number(t) + " is not a class index in [0, " + std::to_string(classes) + ")");
    }
    for (std::size_t j = 0; j < x_len_; ++j)
      if (!std::isfinite(x_[k * x_len_ + j])) fail(k, "feature " + std::to_string(j) + " is " + number(x_[k * x_len_ + j]));
    for (std::size_t j = 0; j < y_len_; ++j)
      if (!std::isfinite(y_[k * y_len_ + j])) fail(k, "target " + std::to_string(j) + " is " + number(y_[k * y_len_ + j]));
  }
}

void EpochRows::take(std::size_t rows, float* x, float* y) {
  if (next_ + rows > indices_.size())
    throw UsageError("fit: the epoch's rows are used up (" + std::to_string(indices_.size()) + " read)");
  std::copy_n(x_.data() + next_ * x_len_, rows * x_len_, x);
  std::copy_n(y_.data() + next_ * y_len_, rows * y_len_, y);
  next_ += rows;
}

}  // namespace plangrad
