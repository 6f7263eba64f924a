/// \file
/// From a data set to mini-batches: a shuffling batch iterator whose position can be
/// checkpointed and resumed exactly, and copies of a batch's rows into a caller's buffer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/random.hpp"
#include "core/tensor.hpp"
#include "core/tensor_storage.hpp"

namespace plangrad {

/// Everything a BatchIterator is, as plain values: enough to rebuild it exactly.
struct BatchIteratorState {
  std::uint64_t num_samples = 0;       ///< n, the samples in the data set
  std::uint64_t batch_size = 0;        ///< the rows of a full batch
  bool drop_last = false;              ///< whether a last, shorter batch is dropped
  std::uint64_t epoch = 0;             ///< the epoch whose batches are being handed out, from 0
  std::uint64_t position = 0;          ///< offset of the next batch in this epoch's order
  std::array<std::uint64_t, 4> rng{};  ///< the generator at the start of `epoch`, before its shuffle

  /// Every field equal.
  bool operator==(const BatchIteratorState& o) const;
  /// Some field differs.
  bool operator!=(const BatchIteratorState& o) const { return !(*this == o); }
};

/// Hands out batches of sample indices. Each epoch's order is a Fisher–Yates shuffle of
/// 0 .. n-1 drawn from one Rng seeded once (core/random.hpp: j = rng.below(i + 1) for
/// i = n-1 down to 1), so the same seed gives the same orders everywhere. Batches are
/// consecutive runs of the order; the last one is shorter unless drop_last drops it.
/// \code
///   BatchIterator it(n, 32, seed);
///   for (int e = 0; e < epochs; ++e)
///     for (Span<const std::size_t> b; it.next(b);)
///       gather_rows(x, n, row_len, b, batch_x);
/// \endcode
class BatchIterator {
 public:
  /// n == 0, batch_size == 0, or drop_last with batch_size > n (no batch at all) is a
  /// UsageError.
  BatchIterator(std::size_t num_samples, std::size_t batch_size, std::uint64_t seed,
                bool drop_last = false);

  /// The next batch of this epoch, true; or, when the epoch has no batch left, false, and
  /// the iterator moves on to the next epoch (freshly shuffled).
  bool next(Span<const std::size_t>& batch);

  std::size_t epoch() const { return static_cast<std::size_t>(epoch_); }  ///< the current epoch, from 0
  std::size_t num_samples() const { return order_.size(); }  ///< n
  std::size_t batch_size() const { return batch_size_; }     ///< the rows of a full batch
  bool drop_last() const { return drop_last_; }              ///< whether a shorter last batch is dropped
  /// The batches next() hands out in an epoch.
  std::size_t batches_per_epoch() const;
  /// This epoch's permutation of 0 .. n-1.
  Span<const std::size_t> order() const { return {order_.data(), order_.size()}; }

  /// Where the iterator is, for set_state (a checkpoint keeps it).
  BatchIteratorState get_state() const;
  /// Resumes exactly where get_state() was taken. A state for another n, batch size or
  /// drop_last, an impossible position or an all-zero generator is a DataError.
  void set_state(const BatchIteratorState& state);

 private:
  void start_epoch();

  std::size_t batch_size_;
  bool drop_last_;
  std::uint64_t epoch_ = 0;
  std::size_t position_ = 0;
  Rng rng_;
  Rng::State epoch_start_{};
  std::vector<std::size_t> order_;
};

/// dst[k, :] = src[indices[k], :] for rows of row_len values; src holds num_rows rows.
/// Allocates nothing; an index >= num_rows is a DataError (checked before any copy).
template <class T>
void gather_rows(const T* src, std::size_t num_rows, std::size_t row_len,
                 Span<const std::size_t> indices, T* dst);

/// [n] class indices -> [n, num_classes] one-hot rows. A label that is not an integer in
/// [0, num_classes) is a DataError naming it and its index.
Tensor<float> one_hot(const Tensor<float>& labels, std::size_t num_classes);
/// The same for a batch, into dst[indices.size(), num_classes], allocating nothing.
void gather_one_hot(const float* labels, std::size_t num_labels, Span<const std::size_t> indices,
                    std::size_t num_classes, float* dst);

}  // namespace plangrad
