// Shapes that a crafted file can ask for: every element count and size is checked, so an
// overflow or a tensor past the limit is a ShapeError naming the node, never a wrapped
// size that later sizes a buffer too small.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/checked.hpp"
#include "core/limits.hpp"
#include "engine/builder.hpp"

using namespace plangrad;
using Catch::Matchers::Contains;

namespace {

using Ints = std::vector<std::int64_t>;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

// Restores the process's limits when a test that changed them ends.
struct LimitsGuard {
  Limits saved = limits();
  ~LimitsGuard() { set_limits(saved); }
};

}  // namespace

TEST_CASE("checked arithmetic refuses results that do not fit", "[checked]") {
  CHECK(mul_dims(3, 4) == 12);
  CHECK(add_dims(kMax - 1, 1) == kMax);
  CHECK_THROWS_AS(mul_dims(kMax, 2), ShapeError);
  CHECK_THROWS_AS(mul_dims(std::int64_t{1} << 32, std::int64_t{1} << 31), ShapeError);
  CHECK_THROWS_AS(add_dims(kMax, 1), ShapeError);
  CHECK_THROWS_WITH(mul_sizes(~std::size_t{0}, 2), Contains("overflows"));
  CHECK_THROWS_AS(add_sizes(~std::size_t{0}, 1), ShapeError);
  CHECK(mul_sizes(std::size_t{1} << 31, std::size_t{1} << 32) == std::size_t{1} << 63);
}

TEST_CASE("numel refuses a shape whose element count wraps or is symbolic", "[checked]") {
  CHECK(numel({}) == 1);
  CHECK(numel({2, 3, 4}) == 24);
  // 2^32 * 2^32 wraps to 0 in 64 bits: the count a division once divided by.
  CHECK_THROWS_WITH(numel({std::int64_t{1} << 32, std::int64_t{1} << 32}), Contains("more elements"));
  CHECK_THROWS_AS(numel({kBatchDim, 4}), ShapeError);
}

TEST_CASE("a reshape whose target overflows is a ShapeError naming the node", "[checked][reshape]") {
  GraphBuilder b;
  const Value x = b.input("x", {kBatchDim, 8});
  CHECK_THROWS_WITH(b.op("reshape", {x}, {{"shape", Ints{-1, 4, kMax, kMax}}}, "r1"),
                    Contains("reshape 'r1'") && Contains("overflows"));
  // Dimensions whose product wraps to exactly 0.
  CHECK_THROWS_WITH(b.op("reshape", {x}, {{"shape", Ints{std::int64_t{1} << 32, std::int64_t{1} << 32}}}, "r2"),
                    Contains("reshape 'r2'") && Contains("overflows"));
}

TEST_CASE("a convolution padded past any size is a ShapeError naming the limit", "[checked][conv2d]") {
  GraphBuilder b;
  const Value x = b.input("x", {kBatchDim, 1, 28, 28});
  const Value w = b.parameter("w", {4, 1, 3, 3}, init::zeros());
  const Value bias = b.parameter("b", {4}, init::zeros());
  const std::int64_t big = 2147483647;
  CHECK_THROWS_WITH(b.op("conv2d", {x, w, bias}, {{"padding", Ints{big, big}}}, "c"),
                    Contains("conv2d 'c'") && Contains("overflows"));
  // Padding that fits every product: an output of 3 * 4 * 40026^2 elements at batch 3.
  CHECK_THROWS_WITH(b.op("conv2d", {x, w, bias}, {{"padding", Ints{20000, 20000}}}, "c1"),
                    Contains("conv2d 'c1' output 'y'") && Contains("more than the limit of") &&
                        Contains("--limit tensor-elements="));
  CHECK_THROWS_WITH(b.op("conv2d", {x, w, bias}, {{"padding", Ints{kMax, 0}}}, "c2"),
                    Contains("conv2d 'c2'") && Contains("overflows"));
}

TEST_CASE("an op output past the tensor limit is refused, and the limit can be raised", "[limits]") {
  const LimitsGuard guard;
  auto wide = [] {
    GraphBuilder b;
    const Value x = b.input("x", {kBatchDim, 1000});
    b.dense(x, 1000, "fc");
    return b;
  };
  Limits small = limits();
  small.tensor_elements = 1000 * 1000 - 1;  // the weight [1000, 1000] is one element too many
  set_limits(small);
  CHECK_THROWS_WITH(wide(), Contains("parameter 'fc.weight'") && Contains("--limit tensor-elements="));
  small.tensor_elements = 1000 * 1000;
  set_limits(small);
  CHECK_NOTHROW(wide());
  // An input is checked with its batch bound: [3, 1000] at the nominal batch 3.
  small.tensor_elements = 2999;
  set_limits(small);
  CHECK_THROWS_WITH(wide(), Contains("input 'x'"));
}

TEST_CASE("limits are set by name, and an unknown name lists the known ones", "[limits]") {
  Limits l;
  set_limit(l, "json-depth", 10);
  CHECK(l.json_depth == 10);
  CHECK_THROWS_WITH(set_limit(l, "jsondepth", 10), Contains("tensor-elements") && Contains("data-bytes"));
  CHECK_THROWS_AS(set_limit(l, "nodes", 0), UsageError);
}

TEST_CASE("attributes that float rounds to nothing are refused", "[float-attributes]") {
  GraphBuilder b;
  const Value x = b.input("x", {kBatchDim, 3});
  CHECK_THROWS_WITH(b.op("normalize", {x}, {{"mean", 0.0}, {"std", 1e-300}}, "n"),
                    Contains("normalize 'n'") && Contains("normal float"));
  CHECK_THROWS_WITH(b.op("normalize", {x}, {{"mean", 1e300}, {"std", 1.0}}, "n2"),
                    Contains("'mean' must be finite in float"));
  const Value g = b.parameter("g", {3}, init::constant(1));
  const Value beta = b.parameter("beta", {3}, init::zeros());
  const Value rm = b.state("rm", {3}, init::zeros());
  const Value rv = b.state("rv", {3}, init::constant(1));
  CHECK_THROWS_WITH(b.op("batchnorm", {x, g, beta, rm, rv}, {{"eps", 1e-300}}, "bn"),
                    Contains("batchnorm 'bn'") && Contains("'eps' must be a normal float"));
  CHECK_NOTHROW(b.op("batchnorm", {x, g, beta, rm, rv}, {{"eps", 1e-30}}, "bn_ok"));
}
