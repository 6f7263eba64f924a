// Tensor<T> (core/tensor_storage.hpp), the owning tensor of models and data sets, and the
// optional xtensor bridge (core/xtensor_interop.hpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>

#include "core/errors.hpp"
#include "core/tensor_storage.hpp"
#include "core/xtensor_interop.hpp"
#include "tests/error_message.hpp"

using namespace plangrad;
using plangrad::testing::error_message;
using Catch::Matchers::Contains;

TEST_CASE("tensor: made from a shape, filled", "[tensor]") {
  const Tensor<float> zeros({2, 3});
  CHECK(zeros.shape() == Shape{2, 3});
  CHECK(zeros.size() == 6);
  CHECK(zeros.rank() == 2);
  CHECK(zeros.dim(-1) == 3);
  CHECK(std::vector<float>(zeros.begin(), zeros.end()) == std::vector<float>(6, 0.0f));
  const Tensor<double> halves({4}, 0.5);
  CHECK(std::vector<double>(halves.begin(), halves.end()) == std::vector<double>(4, 0.5));

  const Tensor<float> scalar{Shape{}};  // rank 0: one value
  CHECK(scalar.size() == 1);
  const Tensor<float> none;  // shape {0}: no values
  CHECK(none.shape() == Shape{0});
  CHECK(none.empty());
  CHECK(none.begin() == none.end());

  CHECK_THAT(error_message<ShapeError>([] { Tensor<float>({2, kBatchDim}); }), Contains("dimension -1"));
  CHECK_THROWS_AS(Tensor<float>({std::numeric_limits<Dim>::max(), 4}), ShapeError);
}

TEST_CASE("tensor: made from a shape and its values, row-major", "[tensor]") {
  const Tensor<float> t({2, 3}, {0, 1, 2, 3, 4, 5});
  CHECK(t[4] == 4.0f);
  CHECK(t(1, 1) == 4.0f);
  CHECK(t(0, 2) == 2.0f);
  const std::vector<double> v{1.5, -2.5};
  CHECK(Tensor<double>({2, 1}, v)(1, 0) == -2.5);
  CHECK(Tensor<double>({1, 2}, v.data(), v.size())(0, 1) == -2.5);

  CHECK(error_message<ShapeError>([] { Tensor<float>({2, 3}, {1, 2}); }) ==
        "a tensor of shape [2, 3] holds 6 values, got 2");
  CHECK_THROWS_AS(Tensor<double>({3}, v), ShapeError);
  CHECK_THROWS_AS(Tensor<double>({1}, v.data(), v.size()), ShapeError);
}

TEST_CASE("tensor: indices are checked", "[tensor]") {
  Tensor<int> t({2, 3});
  t(1, 2) = 7;
  CHECK(t[5] == 7);
  CHECK(error_message<ShapeError>([&] { (void)t(2, 0); }) ==
        "index 2 of dimension 0 is out of range for a tensor of shape [2, 3]");
  CHECK_THAT(error_message<ShapeError>([&] { (void)t(0, 3); }), Contains("index 3 of dimension 1"));
  CHECK_THAT(error_message<ShapeError>([&] { (void)t(-1, 0); }), Contains("of dimension 0"));
  CHECK(error_message<ShapeError>([&] { (void)t(1); }) == "a tensor of shape [2, 3] takes 2 indices, got 1");
}

TEST_CASE("tensor: equality is shape and values; copies are deep", "[tensor]") {
  const Tensor<float> square({2, 2}, {1, 2, 3, 4});
  Tensor<float> copy = square;
  CHECK(copy == square);
  CHECK(copy.data() != square.data());
  copy[3] = 5;
  CHECK(copy != square);
  CHECK(square[3] == 4.0f);
  CHECK(Tensor<float>({4}, {1, 2, 3, 4}) != square);  // the same values, another shape
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(Tensor<float>({1}, {nan}) != Tensor<float>({1}, {nan}));
}

TEST_CASE("tensor: values start on a 64-byte boundary", "[tensor]") {
  for (Dim n : {1, 3, 17, 1000}) {
    const Tensor<float> f({n});
    const Tensor<double> d({n, 3});
    CHECK(reinterpret_cast<std::uintptr_t>(f.data()) % 64 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(d.data()) % 64 == 0);
  }
}

TEST_CASE("tensor: ref() views the same memory", "[tensor]") {
  Tensor<float> t({3, 2});
  const TensorRef<float> r = t.ref();
  CHECK(r.data == t.data());
  CHECK(r.shape == t.shape());
  r[5] = 2.5f;
  CHECK(t(2, 1) == 2.5f);
  const Tensor<float>& c = t;
  const TensorRef<const float> cr = c.ref();
  CHECK(cr.data == t.data());
  CHECK(cr.size() == 6);
}

TEST_CASE("tensor: as xtensor, in place, and back", "[tensor][xtensor]") {
  Tensor<float> t({2, 3}, {0, 1, 2, 3, 4, 5});
  auto x = as_xtensor(t);
  CHECK(x.shape(0) == 2);
  CHECK(x.shape(1) == 3);
  CHECK(x(1, 0) == 3.0f);
  x *= 2.0f;  // writes the tensor
  CHECK(t == Tensor<float>({2, 3}, {0, 2, 4, 6, 8, 10}));

  const Tensor<float>& c = t;
  CHECK(as_xtensor(c)(1, 2) == 10.0f);

  const xt::xarray<double> a = {{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}};
  CHECK(to_tensor(a) == Tensor<double>({3, 2}, {1, 2, 3, 4, 5, 6}));
  CHECK(to_tensor(xt::transpose(a)) == Tensor<double>({2, 3}, {1, 3, 5, 2, 4, 6}));
  CHECK(to_tensor(as_xtensor(c) + 1.0f) == Tensor<float>({2, 3}, {1, 3, 5, 7, 9, 11}));
}
