// The row loops of add_bias, shared by add_bias itself (ops/add.cpp) and by the fused
// add_bias + activation kernels (ops/activations.cpp), so that a fused step computes the
// same bits as the two steps it replaces.
//
// An [R, F] tensor is visited in blocks of kChunk elements or fewer, each `rows` rows of
// `n` features and contiguous in memory: whole rows (n == F) when F <= kChunk, so that a
// narrow layer (F = 25) still runs its element-wise loops over hundreds of elements at a
// time; one row's chunk of features (rows == 1) otherwise.
#pragma once

#include <algorithm>
#include <cstddef>

namespace plangrad::bias_rows {

// The bias (forward) and the column sums (backward) are staged in a local array of kChunk:
// then y (which may be x) and dy cannot alias them, and the compiler vectorizes the row
// loops without run-time alias checks.
constexpr std::size_t kChunk = 512;

// Calls visit(f0, n, rows_per_block) for each chunk [f0, f0 + n) of the features.
template <class Visit>
void feature_chunks(std::size_t F, Visit&& visit) {
  if (F <= kChunk) {
    visit(std::size_t(0), F, kChunk / F);
    return;
  }
  for (std::size_t f0 = 0; f0 < F; f0 += kChunk) visit(f0, std::min(kChunk, F - f0), std::size_t(1));
}

// For each block, rows in order: block(at, rows, n, bias), where the block is the
// elements [at, at + rows * n) (row r at at + r * n) and bias[0, n) its features' biases.
template <class T, class Block>
void forward(const T* b, std::size_t R, std::size_t F, Block&& block) {
  T bias[kChunk];
  feature_chunks(F, [&](std::size_t f0, std::size_t n, std::size_t per) {
    std::copy(b + f0, b + f0 + n, bias);
    for (std::size_t r0 = 0; r0 < R; r0 += per)
      block(r0 * F + f0, std::min(per, R - r0), n, static_cast<const T*>(bias));
  });
}

// db[f] = sum_r g[r, f] (db[f] += ... when accumulating), the rows added in order, where
// block(at, rows, n) returns a pointer to the block's g, rows * n values (row r at r * n).
template <class T, class Block>
void column_sums(T* db, bool accumulate, std::size_t R, std::size_t F, Block&& block) {
  T sum[kChunk];
  feature_chunks(F, [&](std::size_t f0, std::size_t n, std::size_t per) {
    for (std::size_t f = 0; f < n; ++f) sum[f] = accumulate ? db[f0 + f] : T(0);
    for (std::size_t r0 = 0; r0 < R; r0 += per) {
      const std::size_t rows = std::min(per, R - r0);
      const T* g = block(r0 * F + f0, rows, n);
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t f = 0; f < n; ++f) sum[f] += g[r * n + f];
    }
    std::copy(sum, sum + n, db + f0);
  });
}

}  // namespace plangrad::bias_rows
