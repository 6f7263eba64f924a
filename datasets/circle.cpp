#include "datasets/circle.hpp"

#include "core/errors.hpp"
#include "core/random.hpp"

namespace plangrad {

float circle_label(float x, float y) {
  const double dx = static_cast<double>(x) - kCircleCentre;
  const double dy = static_cast<double>(y) - kCircleCentre;
  return dx * dx + dy * dy < kCircleRadiusSquared ? 1.0f : 0.0f;
}

CircleData make_circle(std::size_t n, std::uint64_t seed) {
  if (n == 0) throw UsageError("make_circle: the number of points must be positive");
  CircleData data;
  data.points = Tensor<float>({static_cast<Dim>(n), 2});
  data.labels = Tensor<float>({static_cast<Dim>(n)});
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const float x = static_cast<float>(rng.uniform());
    const float y = static_cast<float>(rng.uniform());
    data.points[2 * i] = x;
    data.points[2 * i + 1] = y;
    data.labels[i] = circle_label(x, y);
  }
  return data;
}

}  // namespace plangrad
