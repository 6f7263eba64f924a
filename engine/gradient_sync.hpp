// GradientSync: a training executor's UpdateSink (engine/executor.hpp) that sums each
// gradient across the ranks of a Communicator before its update. The update steps'
// gradients are packed, in plan order, into buckets of about `bucket_floats` floats; a
// bucket's sum starts as soon as its last gradient is complete, while the backward goes on,
// and the executor waits for it only when it makes the updates, after the last step. The
// last bucket carries two more floats: this rank's loss times its seed (so the sum is the
// global batch's mean loss) and whether this rank was interrupted (so every rank agrees on
// stopping at the same step). Everything is allocated in the constructor; a step allocates
// nothing.
#pragma once

#include <cstddef>
#include <vector>

#include "engine/communicator.hpp"
#include "engine/executor.hpp"

namespace plangrad {

class GradientSync final : public UpdateSink<float> {
 public:
  // For `exec`, a training executor (its loss is read when the last bucket starts); `seed`
  // is what it seeds the loss gradient with.
  GradientSync(Communicator& comm, const Executor<float>& exec, std::size_t bucket_floats, float seed);

  void gradient_ready(std::size_t k, const TensorRef<const float>& grad) override;
  const TensorRef<const float>& reduced(std::size_t k) override;

  // After a step: the global batch's mean loss, and whether any rank was interrupted.
  float global_loss() const { return global_loss_; }
  bool any_interrupted() const { return any_interrupted_; }
  std::size_t buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::size_t id = 0;      // the communicator's
    std::size_t last = 0;    // the update whose gradient completes it
    std::size_t floats = 0;  // gradients (plus the 2 extras in the last bucket)
  };
  Communicator& comm_;
  const Executor<float>& exec_;
  float seed_;
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_, offset_;  // per update
  std::vector<TensorRef<const float>> reduced_;  // per update: its slice of its bucket
  std::size_t next_finish_ = 0;
  float global_loss_ = 0;
  bool any_interrupted_ = false;
};

}  // namespace plangrad
