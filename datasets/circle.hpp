// The circle task of the seed papers: points uniform in the unit square, labelled 1 inside
// the disk centred at (0.5, 0.5) whose area is half the square (radius 1/sqrt(2 pi)), so
// the two classes are balanced in expectation. For one-hot targets see one_hot() in
// engine/batches.hpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/tensor_storage.hpp"
#include "core/visibility.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

inline constexpr double kCircleCentre = 0.5;
inline constexpr double kCircleRadiusSquared = 0.15915494309189535;  // 1 / (2 pi)

struct CircleData {
  Tensor<float> points;  // [n, 2]: x, y in [0, 1]
  Tensor<float> labels;  // [n]: 1 inside the disk, 0 outside

  std::size_t size() const { return labels.size(); }
};

// The rule, on the stored (float) coordinates: 1 when
// (x - 0.5)^2 + (y - 0.5)^2 < 1 / (2 pi), evaluated in double; else 0.
float circle_label(float x, float y);

// n points from Rng(seed) (core/random.hpp): point i takes draws 2i (x) and 2i + 1 (y),
// each uniform() = (bits >> 11) * 2^-53 rounded to float. The same seed gives the same
// points and labels, bit for bit. n == 0 is a UsageError.
CircleData make_circle(std::size_t n, std::uint64_t seed);

}  // namespace plangrad
PLANGRAD_PUBLIC_END
