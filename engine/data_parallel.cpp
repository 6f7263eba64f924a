#include "engine/data_parallel.hpp"

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

}  // namespace plangrad
