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

TEST_CASE("same_bits on tensors, arrays and views needs the same shape", "[same_bits]") {
  const Tensor<float> row({1, 4}, {1.0f, 2.0f, 3.0f, 4.0f}), square({2, 2}, {1.0f, 2.0f, 3.0f, 4.0f});
  CHECK(same_bits(row, Tensor<float>({1, 4}, {1.0f, 2.0f, 3.0f, 4.0f})));
  CHECK_FALSE(same_bits(row, square));  // the same four floats
  CHECK_FALSE(same_bits(square, Tensor<float>({2, 2}, {1.0f, 2.0f, 3.0f, -4.0f})));
  CHECK_FALSE(same_bits(Tensor<float>({1}, {0.0f}), Tensor<float>({1}, {-0.0f})));

  const xt::xarray<float> xrow = {{1.0f, 2.0f, 3.0f, 4.0f}}, xsquare = {{1.0f, 2.0f}, {3.0f, 4.0f}};
  CHECK(same_bits(xrow, xt::xarray<float>{{1.0f, 2.0f, 3.0f, 4.0f}}));
  CHECK_FALSE(same_bits(xrow, xsquare));

  std::vector<double> v{1.0, 2.0, 3.0, 4.0}, w = v;
  const TensorRef<const double> a{v.data(), {2, 2}}, b{w.data(), {2, 2}}, flat{w.data(), {4}};
  CHECK(same_bits(a, b));
  CHECK_FALSE(same_bits(a, flat));
  w[3] = -4.0;
  CHECK_FALSE(same_bits(a, b));
}

TEST_CASE("same_bits on named tensors needs the same names and bits", "[same_bits]") {
  using Named = std::map<std::string, Tensor<float>>;
  const Tensor<float> b({1}, {0.5f}), w({1, 2}, {1.0f, 2.0f});
  const Named a{{"b", b}, {"w", w}};
  CHECK(same_bits(a, Named{{"b", b}, {"w", Tensor<float>({1, 2}, {1.0f, 2.0f})}}));
  CHECK_FALSE(same_bits(a, Named{{"b", b}, {"w", Tensor<float>({1, 2}, {1.0f, 2.5f})}}));
  CHECK_FALSE(same_bits(a, Named{{"bias", b}, {"w", w}}));
  CHECK_FALSE(same_bits(a, Named{{"b", b}}));
  CHECK_FALSE(same_bits(Named{{"b", b}}, a));
  CHECK(same_bits(Named{}, Named{}));
}
