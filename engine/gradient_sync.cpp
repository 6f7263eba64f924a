#include "engine/gradient_sync.hpp"

#include <algorithm>

#include "core/errors.hpp"
#include "engine/interrupt.hpp"

namespace plangrad {

GradientSync::GradientSync(Communicator& comm, const Executor<float>& exec, std::size_t bucket_floats, float seed)
    : comm_(comm), exec_(exec), seed_(seed) {
  const Plan& plan = exec.plan();
  std::vector<std::size_t> sizes;
  std::vector<Shape> shapes;
  for (const Step& step : plan.schedule.steps)
    if (step.kind == StepKind::Update) {
      const TensorInfo& g = plan.schedule.tensors[static_cast<std::size_t>(step.grad)];
      sizes.push_back(static_cast<std::size_t>(numel(g.shape)));
      shapes.push_back(g.shape);
    }
  if (sizes.empty()) throw UsageError("distributed training: the plan updates no parameter");
  // Bucket boundaries depend on the plan alone, so every rank draws the same ones.
  std::size_t filled = 0;
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    if (buckets_.empty() || filled >= bucket_floats) {
      buckets_.push_back({});
      filled = 0;
    }
    bucket_of_.push_back(buckets_.size() - 1);
    offset_.push_back(filled);
    filled += sizes[k];
    buckets_.back().last = k;
    buckets_.back().floats = filled;
  }
  buckets_.back().floats += 2;
  for (Bucket& b : buckets_) b.id = comm_.add_bucket(b.floats);
  for (std::size_t k = 0; k < sizes.size(); ++k)
    reduced_.push_back({comm_.bucket_data(buckets_[bucket_of_[k]].id) + offset_[k], shapes[k]});
}

void GradientSync::gradient_ready(std::size_t k, const TensorRef<const float>& grad) {
  if (k == 0) next_finish_ = 0;
  const Bucket& b = buckets_[bucket_of_[k]];
  float* data = comm_.bucket_data(b.id);
  std::copy(grad.data, grad.data + reduced_[k].size(), data + offset_[k]);
  if (k != b.last) return;
  if (&b == &buckets_.back()) {
    data[b.floats - 2] = exec_.loss() * seed_;
    data[b.floats - 1] = InterruptGuard::requested() ? 1.0f : 0.0f;
  }
  comm_.start_bucket(b.id);
}

const TensorRef<const float>& GradientSync::reduced(std::size_t k) {
  while (next_finish_ <= bucket_of_[k]) {
    const Bucket& b = buckets_[next_finish_++];
    comm_.finish_bucket(b.id);
    if (&b == &buckets_.back()) {
      const float* data = comm_.bucket_data(b.id);
      global_loss_ = data[b.floats - 2];
      any_interrupted_ = data[b.floats - 1] > 0;
    }
  }
  return reduced_[k];
}

}  // namespace plangrad
