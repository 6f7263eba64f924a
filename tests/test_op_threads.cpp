// Kernels split between threads (kernels/parallel.hpp): conv2d by images, max_pool2d by
// planes. What does not depend on the split must give the same bits at 1, 2 and 3
// threads (the forward, dx, db, the pool both ways); conv2d's dw, summed in another order,
// must agree to rounding and repeat bit for bit at a given thread count. Kernels are
// called directly, so that the workspace can be sized for one thread count and run at
// another, and gradients can accumulate.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "ops/op.hpp"
#include "tests/kernel_harness.hpp"
#include "tests/op_threads.hpp"
#include "tests/random_values.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

using Ints = std::vector<std::int64_t>;

// The call of `op` as a plan made at `planned` threads would size it.
template <class T>
KernelCall<T> planned_at(int planned, const char* op, std::vector<Shape> shapes, const Attrs& attrs) {
  const OpThreads t(planned);
  return KernelCall<T>(op, std::move(shapes), attrs);
}

// One op at fixed shapes with fixed random inputs, run through its kernels with a
// workspace sized at `planned` threads.
template <class T>
struct Run {
  KernelCall<T> call;
  std::vector<std::vector<T>> in;

  Run(const char* op, std::vector<Shape> shapes, const Attrs& attrs, int planned)
      : call(planned_at<T>(planned, op, std::move(shapes), attrs)) {
    for (std::size_t i = 0; i < call.in_shapes.size(); ++i)
      in.push_back(random_values<T>(numel(call.in_shapes[i]), 10 + i));
  }

  struct Result {
    std::vector<T> y;
    std::vector<std::vector<T>> d_in;
  };

  // Forward, then backward at `running` threads with fixed random dy; d_in starts as
  // `start` (accumulating onto it when `accumulate`).
  Result run(int running, bool accumulate, T start = T(0)) {
    const OpThreads t(running);
    std::vector<std::vector<T>> out = call.fresh_outputs();
    call.forward(pointers(in), pointers(out));
    std::vector<std::vector<T>> dy{random_values<T>(out[0].size(), 99)};
    Result r{out[0], {}};
    std::vector<T*> d_in;  // null for inputs without a gradient
    for (std::size_t i = 0; i < in.size(); ++i) {
      r.d_in.emplace_back(in[i].size(), start);
      d_in.push_back(call.def.differentiable[i] ? r.d_in.back().data() : nullptr);
    }
    call.backward(pointers(in), pointers(out), pointers(dy), d_in, std::vector<char>(in.size(), accumulate ? 1 : 0));
    return r;
  }
};

template <class T>
void check_close(const std::vector<T>& got, const std::vector<T>& want, double rtol) {
  REQUIRE(got.size() == want.size());
  // Against the largest element: a sum of thousands of terms may cancel to near zero.
  double scale = 0, worst = 0;
  for (T w : want) scale = std::max(scale, std::abs(double(w)));
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(double(got[i]) - double(want[i]));
    worst = std::max(worst, std::isnan(err) ? 1e300 : err);
  }
  INFO("largest difference " << worst << ", largest element " << scale);
  CHECK(scale > 0);
  CHECK(worst <= rtol * scale);
}

template <class T>
void check_conv(const char* op, std::vector<Shape> shapes, const Attrs& attrs, double rtol) {
  INFO(op << ", " << sizeof(T) << "-byte scalars");
  Run<T> one(op, shapes, attrs, 1);
  const auto base = one.run(1, false);
  bool nonzero = false;
  for (T g : base.d_in[1]) nonzero = nonzero || g != T(0);
  REQUIRE(nonzero);
  for (int threads : {2, 3}) {
    INFO(threads << " threads");
    Run<T> many(op, shapes, attrs, threads);
    // The plan's workspace holds a slice per thread.
    REQUIRE(many.call.workspace.size() > one.call.workspace.size());
    const auto r = many.run(threads, false);
    CHECK(same_bits(r.y, base.y));
    CHECK(same_bits(r.d_in[0], base.d_in[0]));  // dx: image by image
    if (shapes.size() == 3) CHECK(same_bits(r.d_in[2], base.d_in[2]));  // db
    check_close(r.d_in[1], base.d_in[1], rtol);  // dw: partial sums
    CHECK(same_bits(many.run(threads, false).d_in[1], r.d_in[1]));  // repeatable
    // Accumulating adds the same gradient onto what is there.
    const auto acc = many.run(threads, true, T(0.5));
    for (std::size_t i = 0; i < acc.d_in.size(); ++i) {
      std::vector<T> want = r.d_in[i];
      for (T& g : want) g += T(0.5);
      check_close(acc.d_in[i], want, rtol);
    }
    // A workspace sized for these threads, run at 1 thread: the plain loop.
    const auto back = many.run(1, false);
    CHECK(same_bits(back.d_in[1], base.d_in[1]));
    // A workspace sized for 1 thread, run at several: still the plain loop.
    CHECK(same_bits(one.run(threads, false).d_in[1], base.d_in[1]));
  }
}

Attrs conv_attrs(Ints stride, Ints padding) { return Attrs{{"stride", stride}, {"padding", padding}}; }

}  // namespace

TEST_CASE("conv2d split between threads: same forward and dx bits, dw to rounding", "[op][conv2d][threads]") {
  // 8 images, 16 filters of 8x3x3 over 16x16: 2.4M multiply-adds, above the split's floor.
  const std::vector<Shape> with_bias{{8, 8, 16, 16}, {16, 8, 3, 3}, {16}};
  check_conv<float>("conv2d", with_bias, conv_attrs({1, 1}, {1, 1}), 1e-5);
  check_conv<double>("conv2d", with_bias, conv_attrs({1, 1}, {1, 1}), 1e-12);
  check_conv<float>("conv2d_nobias", {{8, 8, 16, 16}, {16, 8, 3, 3}}, conv_attrs({1, 1}, {1, 1}), 1e-5);
  // Pointwise (1x1, no workspace for columns): the slices hold only the partial dw.
  check_conv<double>("conv2d_nobias", {{16, 32, 16, 16}, {32, 32, 1, 1}}, conv_attrs({1, 1}, {0, 0}), 1e-12);
}

TEST_CASE("conv2d below the split's floor plans no extra workspace", "[op][conv2d][threads]") {
  const OpThreads t(2);
  const OpDef& def = find_op("conv2d");
  const Attrs attrs = normalize_attrs(def, "n", conv_attrs({1, 1}, {1, 1}));
  // Batch 1 (nothing to split) and a small batch (too little work).
  CHECK(def.workspace({{1, 8, 16, 16}, {16, 8, 3, 3}, {16}}, attrs) == 8 * 9 * 16 * 16);
  CHECK(def.workspace({{2, 1, 8, 8}, {4, 1, 3, 3}, {4}}, attrs) == 9 * 8 * 8);
}

TEST_CASE("max_pool2d split between threads gives the same bits", "[op][max_pool2d][threads]") {
  const std::vector<Shape> shapes{{8, 16, 32, 32}};  // 131k elements, above the split's floor
  for (const Attrs& attrs : {Attrs{{"kernel", Ints{2, 2}}}, Attrs{{"kernel", Ints{3, 3}}, {"stride", Ints{2, 2}}, {"padding", Ints{1, 1}}}}) {
    Run<float> pool("max_pool2d", shapes, attrs, 1);
    const auto base = pool.run(1, false);
    const auto base_acc = pool.run(1, true, 0.25f);
    for (int threads : {2, 3}) {
      INFO(threads << " threads");
      const auto r = pool.run(threads, false);
      CHECK(same_bits(r.y, base.y));
      CHECK(same_bits(r.d_in[0], base.d_in[0]));
      CHECK(same_bits(pool.run(threads, true, 0.25f).d_in[0], base_acc.d_in[0]));
    }
  }
}

TEST_CASE("batchnorm split between threads gives the same bits", "[op][batchnorm][threads]") {
  // x [8, 16, 32, 32] (131k elements, above the split's floor); gamma, beta, running
  // mean and variance [16]. Train mode: batch statistics, running statistics updated.
  const std::vector<Shape> shapes{{8, 16, 32, 32}, {16}, {16}, {16}, {16}};
  Run<float> base_run("batchnorm", shapes, {}, 1);
  const auto base = base_run.run(1, false);
  for (int threads : {2, 3}) {
    INFO(threads << " threads");
    Run<float> run("batchnorm", shapes, {}, threads);
    const auto r = run.run(threads, false);
    CHECK(same_bits(r.y, base.y));
    for (std::size_t i = 0; i < 3; ++i) CHECK(same_bits(r.d_in[i], base.d_in[i]));  // dx, dgamma, dbeta
    for (std::size_t i = 3; i < 5; ++i) CHECK(same_bits(run.in[i], base_run.in[i]));  // running stats
  }
}
