#include "engine/batches.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <utility>

#include "core/errors.hpp"

namespace plangrad {

bool BatchIteratorState::operator==(const BatchIteratorState& o) const {
  return num_samples == o.num_samples && batch_size == o.batch_size && drop_last == o.drop_last &&
         epoch == o.epoch && position == o.position && rng == o.rng;
}

BatchIterator::BatchIterator(std::size_t num_samples, std::size_t batch_size, std::uint64_t seed,
                             bool drop_last)
    : batch_size_(batch_size), drop_last_(drop_last), rng_(seed) {
  if (num_samples == 0) throw UsageError("BatchIterator: no samples to batch");
  if (batch_size == 0) throw UsageError("BatchIterator: the batch size must be positive");
  if (drop_last && batch_size > num_samples) {
    throw UsageError("BatchIterator: batch size " + std::to_string(batch_size) +
                     " with drop_last over " + std::to_string(num_samples) +
                     " samples yields no batch");
  }
  order_.resize(num_samples);
  start_epoch();
}

void BatchIterator::start_epoch() {
  epoch_start_ = rng_.state();
  std::iota(order_.begin(), order_.end(), std::size_t{0});
  for (std::size_t i = order_.size() - 1; i > 0; --i) {
    const auto j = static_cast<std::size_t>(rng_.below(i + 1));
    std::swap(order_[i], order_[j]);
  }
  position_ = 0;
}

std::size_t BatchIterator::batches_per_epoch() const {
  const std::size_t n = order_.size();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

bool BatchIterator::next(Span<const std::size_t>& batch) {
  const std::size_t take = std::min(batch_size_, order_.size() - position_);
  if (take == 0 || (drop_last_ && take < batch_size_)) {
    ++epoch_;
    start_epoch();
    batch = {};
    return false;
  }
  batch = {order_.data() + position_, take};
  position_ += take;
  return true;
}

BatchIteratorState BatchIterator::get_state() const {
  BatchIteratorState s;
  s.num_samples = order_.size();
  s.batch_size = batch_size_;
  s.drop_last = drop_last_;
  s.epoch = epoch_;
  s.position = position_;
  for (std::size_t i = 0; i < 4; ++i) s.rng[i] = epoch_start_.s[i];
  return s;
}

void BatchIterator::set_state(const BatchIteratorState& s) {
  auto describe = [](std::uint64_t n, std::uint64_t b, bool d) {
    return std::to_string(n) + " samples, batch size " + std::to_string(b) +
           (d ? ", drop_last" : "");
  };
  if (s.num_samples != order_.size() || s.batch_size != batch_size_ || s.drop_last != drop_last_) {
    throw DataError("batch iterator state: saved for " +
                    describe(s.num_samples, s.batch_size, s.drop_last) +
                    ", but this iterator has " + describe(order_.size(), batch_size_, drop_last_));
  }
  if (s.position > s.num_samples ||
      (s.position % s.batch_size != 0 && s.position != s.num_samples)) {
    throw DataError("batch iterator state: position " + std::to_string(s.position) +
                    " is not a batch boundary of " +
                    describe(s.num_samples, s.batch_size, s.drop_last));
  }
  if (s.rng[0] == 0 && s.rng[1] == 0 && s.rng[2] == 0 && s.rng[3] == 0) {
    throw DataError("batch iterator state: the generator state is all zeros (not a saved state)");
  }
  rng_.set_state(Rng::State{{s.rng[0], s.rng[1], s.rng[2], s.rng[3]}});
  start_epoch();
  epoch_ = s.epoch;
  position_ = static_cast<std::size_t>(s.position);
}

template <class T>
void gather_rows(const T* src, std::size_t num_rows, std::size_t row_len,
                 Span<const std::size_t> indices, T* dst) {
  for (std::size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] >= num_rows) {
      throw DataError("gather_rows: index " + std::to_string(indices[k]) + " (batch row " +
                      std::to_string(k) + ") is out of range for " + std::to_string(num_rows) +
                      " rows");
    }
  }
  if (row_len == 0) return;
  for (std::size_t k = 0; k < indices.size(); ++k) {
    std::memcpy(dst + k * row_len, src + indices[k] * row_len, row_len * sizeof(T));
  }
}

template void gather_rows<float>(const float*, std::size_t, std::size_t, Span<const std::size_t>,
                                 float*);
template void gather_rows<double>(const double*, std::size_t, std::size_t, Span<const std::size_t>,
                                  double*);

namespace {

std::size_t class_index(float label, std::size_t index, std::size_t num_classes, const char* who) {
  if (!(label >= 0.0f) || !(label < static_cast<float>(num_classes)) ||
      std::floor(label) != label) {
    throw DataError(std::string(who) + ": label " + std::to_string(label) + " at index " +
                    std::to_string(index) + " is not a class index in [0, " +
                    std::to_string(num_classes - 1) + "]");
  }
  return static_cast<std::size_t>(label);
}

}  // namespace

Tensor<float> one_hot(const Tensor<float>& labels, std::size_t num_classes) {
  if (num_classes == 0) throw UsageError("one_hot: the number of classes must be positive");
  const std::size_t n = labels.size();
  Tensor<float> out({static_cast<Dim>(n), static_cast<Dim>(num_classes)});
  for (std::size_t i = 0; i < n; ++i) {
    out[i * num_classes + class_index(labels[i], i, num_classes, "one_hot")] = 1.0f;
  }
  return out;
}

void gather_one_hot(const float* labels, std::size_t num_labels, Span<const std::size_t> indices,
                    std::size_t num_classes, float* dst) {
  if (num_classes == 0) throw UsageError("gather_one_hot: the number of classes must be positive");
  for (std::size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] >= num_labels) {
      throw DataError("gather_one_hot: index " + std::to_string(indices[k]) + " (batch row " +
                      std::to_string(k) + ") is out of range for " + std::to_string(num_labels) +
                      " labels");
    }
    class_index(labels[indices[k]], indices[k], num_classes, "gather_one_hot");
  }
  std::fill(dst, dst + indices.size() * num_classes, 0.0f);
  for (std::size_t k = 0; k < indices.size(); ++k) {
    dst[k * num_classes + static_cast<std::size_t>(labels[indices[k]])] = 1.0f;
  }
}

}  // namespace plangrad
