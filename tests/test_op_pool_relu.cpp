// max_pool2d's after_relu kernels (the relu + max_pool2d step of planner/fuse.cpp) against
// the two ops' own kernels run one after the other, bit for bit: values with many ties,
// signed zeros, all-negative windows and NaNs; every window geometry path (2x2 stride 2 in
// blocks and one window at a time, odd sizes, overlapping and padded windows); the input
// gradient written and accumulated onto a gradient holding signed zeros; float and double;
// one op thread and two.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/op.hpp"
#include "tests/kernel_harness.hpp"
#include "tests/op_threads.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

using Ints = std::vector<std::int64_t>;

Attrs pool_attrs(Ints kernel, Ints stride, Ints padding) {
  return Attrs{{"kernel", kernel}, {"stride", stride}, {"padding", padding}};
}

// One kernel on raw buffers, as a plan's step would run it (dy and dx may be nullptr).
template <class T>
void run(KernelFn<T> kernel, const Attrs& attrs, T* x, const Shape& xs, T* y, const Shape& ys,
         std::common_type_t<T*> dy, std::common_type_t<T*> dx, char accumulate) {
  const std::vector<TensorRef<T>> in{{x, xs}}, out{{y, ys}}, d_out{{dy, ys}}, d_in{{dx, xs}};
  const std::vector<char> acc{accumulate};
  OpArgs<T> a;
  a.in = make_span(in);
  a.out = make_span(out);
  a.d_out = make_span(d_out);
  a.d_in = make_span(d_in);
  a.accumulate = make_span(acc);
  a.attrs = &attrs;
  kernel(a);
}

// Values from {-2, -1, -0, +0, 1, 2} (ties everywhere, windows of nothing but negatives and
// zeros), a few NaNs; whole planes negative now and then.
template <class T>
std::vector<T> tricky_values(std::size_t n, std::size_t plane, std::mt19937_64& rng) {
  const T choices[] = {T(-2), T(-1), T(-0.0), T(0), T(1), T(2)};
  std::vector<T> v(n);
  for (T& e : v) e = choices[rng() % 6];
  for (std::size_t p = 0; p < n / plane; p += 3)
    for (std::size_t i = 0; i < plane; ++i) v[p * plane + i] = -std::abs(v[p * plane + i]) - T(1);
  for (std::size_t k = 0; k < 1 + n / 50; ++k) v[rng() % n] = std::numeric_limits<T>::quiet_NaN();
  return v;
}

template <class T>
void check_fused(const Shape& xs, const Ints& kernel, const Ints& stride, const Ints& padding, std::uint64_t seed) {
  const OpDef& pool = find_op("max_pool2d");
  const OpDef& relu = find_op("relu");
  const Attrs attrs = normalize_attrs(pool, "pool", pool_attrs(kernel, stride, padding));
  const Attrs none = normalize_attrs(relu, "relu", {});
  const Shape ys = infer_output_shapes(pool, "pool", {xs}, attrs)[0];
  const std::size_t n = static_cast<std::size_t>(numel(xs)), m = static_cast<std::size_t>(numel(ys));
  std::mt19937_64 rng(seed);
  std::vector<T> z = tricky_values<T>(n, static_cast<std::size_t>(xs[2] * xs[3]), rng);
  std::vector<T> dy(m);
  for (std::size_t i = 0; i < m; ++i) dy[i] = T(0.25) * static_cast<T>(rng() % 8) - T(0.875);  // exact, not 0
  dy[0] = T(-0.0);
  const T nan = std::numeric_limits<T>::quiet_NaN();

  // The two steps: r = relu(z), y = pool(r); dr = pool'(r, dy), dz = relu'(r, dr).
  std::vector<T> r(n, nan), y(m, nan), dr(n, nan);
  run(relu.kernels<T>().forward, none, z.data(), xs, r.data(), xs, nullptr, nullptr, 0);
  run(pool.kernels<T>().forward, attrs, r.data(), xs, y.data(), ys, nullptr, nullptr, 0);
  run(pool.kernels<T>().backward, attrs, r.data(), xs, y.data(), ys, dy.data(), dr.data(), 0);
  // The fused step.
  std::vector<T> fy(m, nan);
  run(pool.after_relu_kernels<T>().forward, attrs, z.data(), xs, fy.data(), ys, nullptr, nullptr, 0);
  CHECK(same_bits(fy, y));
  for (const char acc : {0, 1}) {
    INFO("accumulate " << int(acc));
    // Written: garbage before; accumulated: a gradient with signed zeros (relu's backward
    // adds +0 to a -0, making it +0) and other values.
    std::vector<T> before(n, nan);
    if (acc)
      for (std::size_t i = 0; i < n; ++i) before[i] = i % 3 == 0 ? T(-0.0) : i % 3 == 1 ? T(0.5) : T(-3);
    std::vector<T> dz = before, fdz = before;
    run(relu.kernels<T>().backward, none, z.data(), xs, r.data(), xs, dr.data(), dz.data(), acc);
    run(pool.after_relu_kernels<T>().backward, attrs, z.data(), xs, fy.data(), ys, dy.data(), fdz.data(), acc);
    CHECK(same_bits(fdz, dz));
    // The case means something: some gradient got through, and some was cut by relu.
    bool routed = false, cut = false;
    for (std::size_t i = 0; i < n; ++i) {
      routed = routed || (dr[i] != T(0) && dz[i] != before[i]);
      cut = cut || (dr[i] != T(0) && !(r[i] > T(0)));
    }
    CHECK(routed);
    CHECK(cut);
  }
}

template <class T>
void check_geometries(std::uint64_t seed) {
  // 2x2 stride 2: rows of fewer than 8 windows (spilling into the next rows; narrower
  // than 8 cells, one at a time), exactly 8, 11 and 17 (the last block overlaps), odd widths
  // and heights (cells outside every window).
  check_fused<T>({2, 3, 7, 9}, {2, 2}, {}, {0, 0}, seed + 1);
  check_fused<T>({2, 2, 4, 16}, {2, 2}, {}, {0, 0}, seed + 2);
  check_fused<T>({1, 3, 5, 23}, {2, 2}, {}, {0, 0}, seed + 3);
  check_fused<T>({2, 1, 6, 35}, {2, 2}, {}, {0, 0}, seed + 4);
  check_fused<T>({3, 4, 28, 28}, {2, 2}, {}, {0, 0}, seed + 5);
  check_fused<T>({3, 4, 14, 14}, {2, 2}, {}, {0, 0}, seed + 6);
  check_fused<T>({2, 3, 6, 6}, {2, 2}, {}, {0, 0}, seed + 13);
  // Planes of one pair of rows and of the fewest windows that spill (into the next plane),
  // an odd height (no spill at the plane's end), planes of 1 and 3 windows.
  check_fused<T>({3, 2, 2, 14}, {2, 2}, {}, {0, 0}, seed + 14);
  check_fused<T>({2, 3, 4, 9}, {2, 2}, {}, {0, 0}, seed + 15);
  check_fused<T>({2, 2, 5, 12}, {2, 2}, {}, {0, 0}, seed + 16);
  check_fused<T>({4, 3, 2, 3}, {2, 2}, {}, {0, 0}, seed + 17);
  check_fused<T>({2, 3, 2, 6}, {2, 2}, {}, {0, 0}, seed + 18);
  // The general path: overlapping windows, padding, non-square, a window as large as the
  // input, a 2x2 window with stride 1 and with padding.
  check_fused<T>({2, 2, 7, 8}, {3, 3}, {2, 2}, {1, 1}, seed + 7);
  check_fused<T>({2, 2, 6, 5}, {3, 3}, {1, 1}, {1, 1}, seed + 8);
  check_fused<T>({1, 3, 5, 7}, {2, 3}, {1, 2}, {0, 1}, seed + 9);
  check_fused<T>({2, 2, 4, 5}, {4, 5}, {1, 1}, {0, 0}, seed + 10);
  check_fused<T>({2, 2, 6, 6}, {2, 2}, {1, 1}, {0, 0}, seed + 11);
  check_fused<T>({2, 2, 6, 6}, {2, 2}, {2, 2}, {1, 1}, seed + 12);
}

}  // namespace

TEST_CASE("max_pool2d after_relu: the same bits as relu then max_pool2d", "[op][max_pool2d]") {
  check_geometries<float>(100);
  check_geometries<double>(200);
}

TEST_CASE("max_pool2d after_relu: the same bits split between op threads", "[op][max_pool2d][threads]") {
  const OpThreads threads(2);
  // Large enough for the planes to be split (kernels/parallel.hpp's threshold).
  check_fused<float>({16, 16, 28, 28}, {2, 2}, {}, {0, 0}, 300);
  check_fused<double>({16, 16, 28, 28}, {2, 2}, {}, {0, 0}, 301);
  // Rows of 7 windows: a chunk's last plane does not spill into the next chunk's first.
  check_fused<float>({32, 16, 14, 14}, {2, 2}, {}, {0, 0}, 303);
  check_fused<float>({16, 16, 28, 28}, {3, 3}, {2, 2}, {1, 1}, 302);
}

TEST_CASE("max_pool2d after_relu by hand: a window of no positive value passes no gradient",
          "[op][max_pool2d]") {
  const OpDef& pool = find_op("max_pool2d");
  const Attrs attrs = normalize_attrs(pool, "pool", pool_attrs({2, 2}, {}, {0, 0}));
  // Windows: all negative; zeros and negatives; a tie of positives (the first wins); a NaN
  // first (relu makes it 0, so the 1 after it wins).
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> z = {-1, -2, -0.0f, 0, 3, 1, nan, 1,  //
                          -3, -4, -5, 0,    3, 2, 0,   -1};
  std::vector<float> y(4), dy = {10, 20, 30, 40}, dz(16, 7.0f);
  run(pool.after_relu_kernels<float>().forward, attrs, z.data(), {1, 1, 2, 8}, y.data(), {1, 1, 1, 4}, nullptr,
      nullptr, 0);
  CHECK(same_bits(y, std::vector<float>{0, 0, 3, 1}));
  run(pool.after_relu_kernels<float>().backward, attrs, z.data(), {1, 1, 2, 8}, y.data(), {1, 1, 1, 4}, dy.data(),
      dz.data(), 0);
  CHECK(same_bits(dz, std::vector<float>{0, 0, 0, 0, 30, 0, 0, 40,  //
                                         0, 0, 0, 0, 0,  0, 0, 0}));
}
