// same_bits (tests/same_bits.hpp), the determinism tests' measure: it must see every
// difference == misses (signed zeros, NaN payloads), shapes and names, and must not see
// a difference between equal bits (NaN included).
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "tests/same_bits.hpp"

using namespace plangrad;
using plangrad::testing::same_bits;

TEST_CASE("same_bits compares bits, not values", "[same_bits]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(same_bits(1.5, 1.5));
  CHECK_FALSE(same_bits(1.5, std::nextafter(1.5, 2.0)));
  CHECK_FALSE(same_bits(0.0, -0.0));  // equal under ==
  CHECK(same_bits(nan, nan));         // unequal under ==
  CHECK_FALSE(same_bits(nan, -nan));

  const std::vector<float> a{1.0f, 2.0f, 3.0f};
  CHECK(same_bits(a, std::vector<float>{1.0f, 2.0f, 3.0f}));
  CHECK_FALSE(same_bits(a, std::vector<float>{1.0f, 2.0f, -3.0f}));
  CHECK_FALSE(same_bits(a, std::vector<float>{1.0f, 2.0f}));
  CHECK(same_bits(std::vector<float>{}, std::vector<float>{}));
  CHECK(same_bits(a.data(), a.data() + 1, 0));
  CHECK_FALSE(same_bits(a.data(), a.data() + 1, 1));
}

TEST_CASE("same_bits on arrays and views needs the same shape", "[same_bits]") {
  const xt::xarray<float> row = {{1.0f, 2.0f, 3.0f, 4.0f}}, square = {{1.0f, 2.0f}, {3.0f, 4.0f}};
  CHECK(same_bits(row, xt::xarray<float>{{1.0f, 2.0f, 3.0f, 4.0f}}));
  CHECK_FALSE(same_bits(row, square));  // the same four floats
  CHECK_FALSE(same_bits(square, xt::xarray<float>{{1.0f, 2.0f}, {3.0f, -4.0f}}));

  std::vector<double> v{1.0, 2.0, 3.0, 4.0}, w = v;
  const TensorRef<const double> a{v.data(), {2, 2}}, b{w.data(), {2, 2}}, flat{w.data(), {4}};
  CHECK(same_bits(a, b));
  CHECK_FALSE(same_bits(a, flat));
  w[3] = -4.0;
  CHECK_FALSE(same_bits(a, b));
}

TEST_CASE("same_bits on named tensors needs the same names and bits", "[same_bits]") {
  using Named = std::map<std::string, xt::xarray<float>>;
  const Named a{{"b", {0.5f}}, {"w", {{1.0f, 2.0f}}}};
  CHECK(same_bits(a, Named{{"b", {0.5f}}, {"w", {{1.0f, 2.0f}}}}));
  CHECK_FALSE(same_bits(a, Named{{"b", {0.5f}}, {"w", {{1.0f, 2.5f}}}}));
  CHECK_FALSE(same_bits(a, Named{{"bias", {0.5f}}, {"w", {{1.0f, 2.0f}}}}));
  CHECK_FALSE(same_bits(a, Named{{"b", {0.5f}}}));
  CHECK_FALSE(same_bits(Named{{"b", {0.5f}}}, a));
  CHECK(same_bits(Named{}, Named{}));
}
