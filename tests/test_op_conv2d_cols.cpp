// conv2d's fast passes (ops/conv2d_cols.hpp) against the general ones: im2col and col2im
// of stride-1 "same-width" windows bit for bit, the bias gradient's lane sum against its
// order written out, and gradient checks through the op on the fast path's geometries.
#include <catch2/catch.hpp>

#include <cstring>

#include "ops/conv2d_cols.hpp"
#include "tests/gradcheck.hpp"
#include "tests/random_values.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

struct Geometry {
  Dim C, H, W, KH, KW, ph, pw;
};

// Flat windows (stride 1, OW == W): odd sizes, planes narrower than 16, padding 0, 1
// and 2, C = 1, KW = 1, KH != KW, a kernel larger than the plane, a 1x1 plane.
const Geometry kFlat[] = {
    {1, 28, 28, 3, 3, 1, 1}, {16, 14, 14, 3, 3, 1, 1}, {3, 5, 7, 3, 3, 1, 1},
    {2, 4, 3, 5, 5, 2, 2},   {2, 6, 5, 3, 1, 1, 0},    {1, 17, 13, 1, 3, 0, 1},
    {2, 7, 9, 3, 3, 0, 1},   {2, 5, 6, 5, 3, 2, 1},    {1, 4, 5, 2, 1, 1, 0},
    {2, 3, 3, 5, 5, 2, 2},   {1, 1, 1, 3, 3, 1, 1},    {3, 2, 19, 3, 5, 2, 2},
};

Window2d window(const Geometry& s, Dim sh = 1, Dim sw = 1) {
  Window2d g;
  g.h = s.H;
  g.w = s.W;
  g.kh = s.KH;
  g.kw = s.KW;
  g.sh = sh;
  g.sw = sw;
  g.ph = s.ph;
  g.pw = s.pw;
  g.oh = (s.H + 2 * s.ph - s.KH) / sh + 1;
  g.ow = (s.W + 2 * s.pw - s.KW) / sw + 1;
  return g;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

template <class T>
void check_flat_matches_general(const Geometry& s, std::uint64_t seed) {
  const Window2d g = window(s);
  REQUIRE(conv_cols::flat(g));
  const std::size_t xs = static_cast<std::size_t>(s.C * s.H * s.W);
  const std::size_t cols = static_cast<std::size_t>(s.C * s.KH * s.KW * g.oh * g.ow);
  const std::vector<T> x = random_values<T>(xs, seed);

  // Both start from garbage, so that every col entry must be written.
  std::vector<T> col_flat(cols, T(7)), col_general(cols, T(-7));
  conv_cols::im2col_flat(x.data(), s.C, g, col_flat.data());
  conv_cols::im2col_general(x.data(), s.C, g, col_general.data());
  CHECK(same_bits(col_flat, col_general));
  // A second image over the first one's col, whose padding zeros it keeps.
  const std::vector<T> x2 = random_values<T>(xs, seed + 3);
  conv_cols::im2col_flat(x2.data(), s.C, g, col_flat.data(), true);
  conv_cols::im2col_general(x2.data(), s.C, g, col_general.data());
  CHECK(same_bits(col_flat, col_general));

  // col2im onto a zero dx and onto a gradient already there.
  const std::vector<T> dcol = random_values<T>(cols, seed + 1);
  for (bool accumulate : {false, true}) {
    INFO("accumulate " << accumulate);
    const std::vector<T> start = accumulate ? random_values<T>(xs, seed + 2) : std::vector<T>(xs, T(0));
    std::vector<T> dx_flat = start, dx_general = start, scratch = dcol;
    conv_cols::col2im_add_flat(scratch.data(), s.C, g, dx_flat.data());
    conv_cols::col2im_add_general(dcol.data(), s.C, g, dx_general.data());
    CHECK(same_bits(dx_flat, dx_general));
  }
}

}  // namespace

TEST_CASE("conv2d flat im2col and col2im match the general ones bit for bit", "[op][conv2d]") {
  std::uint64_t seed = 100;
  for (const Geometry& s : kFlat) {
    INFO("C " << s.C << " H " << s.H << " W " << s.W << " kernel " << s.KH << "x" << s.KW
              << " padding " << s.ph << "," << s.pw);
    check_flat_matches_general<float>(s, seed++);
    check_flat_matches_general<double>(s, seed++);
  }
}

TEST_CASE("conv2d takes the flat path only for stride 1 with OW == W", "[op][conv2d]") {
  CHECK(conv_cols::flat(window({1, 28, 28, 3, 3, 1, 1})));
  CHECK(conv_cols::flat(window({1, 6, 5, 3, 1, 1, 0})));
  CHECK_FALSE(conv_cols::flat(window({1, 5, 5, 3, 3, 0, 0})));           // OW = W - 2
  CHECK_FALSE(conv_cols::flat(window({1, 6, 6, 3, 3, 1, 1}, 2, 2)));     // stride 2
  CHECK_FALSE(conv_cols::flat(window({1, 6, 6, 3, 3, 1, 1}, 2, 1)));     // stride 2 down
  CHECK_FALSE(conv_cols::flat(window({1, 6, 6, 1, 1, 1, 1})));           // OW = W + 2
}

namespace {

// lane_sum's order written out one element at a time: element k into lane k % 16, then
// the lanes halved pairwise (l += l + 8, then l + 4, l + 2, l + 1).
double lane_sum_by_hand(const std::vector<float>& r) {
  double acc[16] = {};
  for (std::size_t k = 0; k < r.size(); ++k) acc[k % 16] += static_cast<double>(r[k]);
  for (std::size_t half = 8; half > 0; half /= 2)
    for (std::size_t l = 0; l < half; ++l) acc[l] += acc[l + half];
  return acc[0];
}

}  // namespace

TEST_CASE("conv2d bias gradient: the lane sum's fixed order", "[op][conv2d]") {
  for (std::size_t n : {0, 1, 7, 15, 16, 17, 31, 196, 784, 1001}) {
    INFO("n " << n);
    // Values of mixed magnitude, so that another order rounds differently.
    std::vector<float> r = random_values<float>(n, 200 + n);
    for (std::size_t k = 0; k < n; k += 3) r[k] *= 1e6f;
    const double got = conv_cols::lane_sum(r.data(), n);
    const double want = lane_sum_by_hand(r);
    CHECK(std::memcmp(&got, &want, sizeof got) == 0);
  }
}

// Gradients through the op on flat geometries (test_op_conv2d.cpp has the others).
TEST_CASE("conv2d gradients: stride 1, same-width padding", "[op][conv2d][gradcheck]") {
  struct Case {
    Shape x, w;
    std::vector<std::int64_t> padding;
  };
  const Case cases[] = {
      {{2, 3, 5, 7}, {4, 3, 3, 3}, {1, 1}},  // odd plane, "same"
      {{2, 2, 4, 3}, {3, 2, 5, 5}, {2, 2}},  // padding 2, kernel wider than the plane
      {{2, 1, 6, 5}, {2, 1, 3, 1}, {1, 0}},  // C = 1, KW = 1
      {{3, 2, 5, 4}, {2, 2, 2, 3}, {0, 1}},  // KH = 2 without padding: OH = H - 1
  };
  std::uint64_t seed = 300;
  for (const Case& c : cases) {
    INFO("x " << shape_str(c.x) << " w " << shape_str(c.w));
    GradCheckOptions options;
    options.attrs = Attrs{{"stride", std::vector<std::int64_t>{1, 1}}, {"padding", c.padding}};
    const Array xa = random_array(c.x, seed), wa = random_array(c.w, seed + 1),
                ba = random_array({c.w[0]}, seed + 2);
    seed += 3;
    CHECK(check_op_gradients("conv2d", {xa, wa, ba}, options).relative_error.size() == 3);
  }
}

TEST_CASE("conv2d backward on a flat window, each input alone", "[op][conv2d][gradcheck]") {
  // dw without dx: the im2col of each image after a part's first keeps the zeros in place.
  GradCheckOptions options;
  options.attrs = Attrs{{"stride", std::vector<std::int64_t>{1, 1}}, {"padding", std::vector<std::int64_t>{1, 1}}};
  check_each_input_alone(
      "conv2d", {random_array({3, 2, 5, 4}, 400), random_array({3, 2, 3, 3}, 401), random_array({3}, 402)},
      options);
}
