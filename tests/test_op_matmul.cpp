// matmul: values by hand, gradients of both operands, shape-rule messages.
#include <array>
#include <catch2/catch.hpp>

#include <xtensor/xstrided_view.hpp>

#include "tests/gradcheck.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

Array matmul(const Array& a, const Array& b) {
  std::vector<Array> in{a, b};
  return run_op_forward("matmul", in)[0];
}

}  // namespace

TEST_CASE("matmul forward by hand", "[op][matmul]") {
  const Array a = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  const Array b = {{7.0, 8.0}, {9.0, 10.0}, {11.0, 12.0}};
  // [1*7 + 2*9 + 3*11, 1*8 + 2*10 + 3*12], [4*7 + 5*9 + 6*11, 4*8 + 5*10 + 6*12]
  require_close(matmul(a, b), Array{{58.0, 64.0}, {139.0, 154.0}}, 0, 0);
  // Batch of one, and a [3,1] x [1,2] outer product.
  require_close(matmul(Array{{1.0, -1.0, 2.0}}, b), Array{{20.0, 22.0}}, 0, 0);
  require_close(matmul(xt::reshape_view(Array{1.0, 2.0, 3.0}, {3, 1}), Array{{4.0, 5.0}}),
                Array{{4.0, 5.0}, {8.0, 10.0}, {12.0, 15.0}}, 0, 0);
}

TEST_CASE("matmul backward by hand", "[op][matmul]") {
  const Array a = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  const Array b = {{7.0, 8.0}, {9.0, 10.0}, {11.0, 12.0}};
  const Array dy = {{1.0, 0.0}, {0.0, 2.0}};
  const std::vector<Array> g = run_op_backward("matmul", {a, b}, {dy});
  // da = dy b^T: row 0 is b's first column, row 1 twice its second.
  require_close(g[0], Array{{7.0, 9.0, 11.0}, {16.0, 20.0, 24.0}}, 0, 0);
  // db = a^T dy: column 0 is a's first row, column 1 twice its second.
  require_close(g[1], Array{{1.0, 8.0}, {2.0, 10.0}, {3.0, 12.0}}, 0, 0);
}

TEST_CASE("matmul gradient of both operands", "[op][matmul][gradcheck]") {
  // {N, K, M}: batch of one, K = 1, M = 1, square, and sizes past a BLAS micro-kernel.
  const std::vector<std::array<Dim, 3>> sizes = {
      {1, 3, 2}, {4, 5, 3}, {3, 1, 4}, {2, 7, 1}, {5, 5, 5}, {17, 13, 11}};
  for (std::size_t s = 0; s < sizes.size(); ++s) {
    const auto [N, K, M] = sizes[s];
    CAPTURE(N, K, M);
    check_op_gradients("matmul", {random_array({N, K}, 10 + s), random_array({K, M}, 20 + s)});
  }
}

TEST_CASE("matmul gradient of one operand at a time", "[op][matmul][gradcheck]") {
  check_each_input_alone("matmul", {random_array({3, 4}, 1), random_array({4, 2}, 2)});
}

TEST_CASE("matmul shape rule", "[op][matmul][shape]") {
  const OpDef& op = find_op("matmul");
  CHECK(op.shape({{8, 25}, {25, 4}}, {}) == std::vector<Shape>{{8, 4}});
  CHECK(op.shape({{1, 1}, {1, 1}}, {}) == std::vector<Shape>{{1, 1}});

  std::vector<Array> in{Array::from_shape({10, 25}), Array::from_shape({30, 5})};
  REQUIRE_THROWS_AS(run_op_forward("matmul", in), ShapeError);
  REQUIRE_THROWS_WITH(run_op_forward("matmul", in),
                      Catch::Contains("25") && Catch::Contains("30") &&
                          Catch::Contains("[10, 25]") && Catch::Contains("[30, 5]"));

  REQUIRE_THROWS_AS(op.shape({{2, 3, 4}, {4, 5}}, {}), ShapeError);
  REQUIRE_THROWS_WITH(op.shape({{2, 3, 4}, {4, 5}}, {}), Catch::Contains("[2, 3, 4]"));
  REQUIRE_THROWS_AS(op.shape({{2, 3}, {3}}, {}), ShapeError);
  REQUIRE_THROWS_WITH(op.shape({{2, 3}, {3}}, {}), Catch::Contains("[3]"));
}
