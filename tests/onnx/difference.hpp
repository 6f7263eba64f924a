// The ONNX import tests' measure of agreement with a reference output (PyTorch's, or ONNX
// Runtime's): the largest absolute difference, and that over the reference's largest
// magnitude. A non-finite output or a size mismatch fails the calling test.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

namespace plangrad::testing {

struct Difference {
  double relative = 0;  // max |got - want| / max |want|
  double absolute = 0;  // max |got - want|
};

inline Difference difference(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  double largest = 0, diff = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    REQUIRE(std::isfinite(got[i]));
    largest = std::max(largest, std::fabs(static_cast<double>(want[i])));
    diff = std::max(diff, std::fabs(static_cast<double>(got[i]) - want[i]));
  }
  return {largest > 0 ? diff / largest : diff, diff};
}

}  // namespace plangrad::testing
