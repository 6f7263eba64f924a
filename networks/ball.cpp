#include "networks/ball.hpp"

#include "core/errors.hpp"
#include "core/random.hpp"

namespace plangrad {

float ball_label(const float* x) {
  double sum = 0.0;
  for (std::size_t i = 0; i < kBallFeatures; ++i) {
    const double d = static_cast<double>(x[i]) - 0.5;
    sum += d * d;
  }
  return sum < kBallRadius * kBallRadius ? 1.0f : 0.0f;
}

BallData make_ball(std::size_t n, std::uint64_t seed) {
  if (n == 0) throw UsageError("make_ball: the number of points must be positive");
  BallData data;
  data.points = Tensor<float>({static_cast<Dim>(n), static_cast<Dim>(kBallFeatures)});
  data.labels = Tensor<float>({static_cast<Dim>(n)});
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    float* x = data.points.data() + i * kBallFeatures;
    for (std::size_t j = 0; j < kBallFeatures; ++j) x[j] = static_cast<float>(rng.uniform());
    data.labels[i] = ball_label(x);
  }
  return data;
}

}  // namespace plangrad
