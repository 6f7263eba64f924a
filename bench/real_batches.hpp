// The real-batch workloads of bench/workloads.cpp (W3-real, W4-real): Fashion-MNIST's
// training set, batch after batch in file order, copied into the plan's input buffers
// before each step, outside the timed region (the PyTorch and LibTorch sides point their
// step at a view of the same batch, also untimed).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

#include "core/errors.hpp"
#include "datasets/idx.hpp"
#include "engine/executor.hpp"

namespace bench {

// Warm-up batches before the timed ones (20 + 200 of the training set's 468).
inline constexpr int kRealWarmup = 20;

class RealBatches {
 public:
  // Reads DIR's train-images/train-labels (plain or gzipped) and binds the executor's "x"
  // and "labels" inputs, whose first dimension is the batch.
  RealBatches(const std::string& dir, plangrad::Executor<float>& exec)
      : set_(plangrad::load_mnist_dir(dir, plangrad::Split::Train)), x_(exec.input("x")), labels_(exec.input("labels")) {
    batch_ = static_cast<std::size_t>(x_.dim(0));
    pixels_ = x_.size() / batch_;
    batches_ = set_.size() / batch_;
    if (pixels_ != set_.rows * set_.cols || labels_.size() != batch_)
      throw plangrad::DataError(dir + ": its images do not fit the input 'x' of " + std::to_string(pixels_) + " values per row");
    if (batches_ == 0) throw plangrad::DataError(dir + ": fewer training images than one batch");
  }

  // Batch i (modulo the whole batches the set holds) into the inputs.
  void load(int i) const {
    const std::size_t start = static_cast<std::size_t>(i) % batches_ * batch_;
    const float* img = set_.images.data() + start * pixels_;
    std::copy(img, img + batch_ * pixels_, x_.data);
    const float* lab = set_.labels.data() + start;
    std::copy(lab, lab + batch_, labels_.data);
  }

 private:
  plangrad::ImageSet set_;
  plangrad::TensorRef<float> x_, labels_;
  std::size_t batch_ = 0, pixels_ = 0, batches_ = 0;
};

}  // namespace bench
