// The ball task of the seed papers: a point of [0, 1]^48, read as a 3x4x4 image, is
// labelled 1 when its Euclidean distance from the centre (0.5, ..., 0.5) is below 2. The
// squared distance of a uniform point has mean 48/12 = 4, so the two classes are about
// balanced. The data lives beside its network (models::ball_cnn) because the task is
// defined by this example alone.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/tensor_storage.hpp"

namespace plangrad {

inline constexpr std::size_t kBallFeatures = 48;  // 3 channels x 4 x 4
inline constexpr double kBallRadius = 2.0;

struct BallData {
  Tensor<float> points;  // [n, 48]: the bytes of [n, 3, 4, 4], each value in [0, 1]
  Tensor<float> labels;  // [n]: 1 inside the ball, 0 outside

  std::size_t size() const { return labels.size(); }
};

// The rule on the stored (float) values of one point: 1 when sum (x_i - 0.5)^2 < 2^2,
// summed in double; else 0.
float ball_label(const float* x);

// n points from Rng(seed) (core/random.hpp): point i takes draws 48i .. 48i + 47, each
// uniform() rounded to float. The same seed gives the same points, bit for bit. n == 0 is
// a UsageError.
BallData make_ball(std::size_t n, std::uint64_t seed);

}  // namespace plangrad
