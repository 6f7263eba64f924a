// Kernels split between threads (kernels/parallel.hpp): conv2d by images, max_pool2d by
// planes. What does not depend on the split must give the same bits at 1, 2 and 3
// threads (the forward, dx, db, the pool both ways); conv2d's dw, summed in another order,
// must agree to rounding and repeat bit for bit at a given thread count. Kernels are
// called directly, so that the workspace can be sized for one thread count and run at
// another, and gradients can accumulate.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "ops/op.hpp"
#include "kernels/parallel.hpp"
#include "tests/random_values.hpp"

using namespace plangrad;
using plangrad::testing::random_values;

namespace {

using Ints = std::vector<std::int64_t>;

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Sets the op threads for a scope, then follows OpenBLAS again.
struct Threads {
  explicit Threads(int n) { set_op_threads(n); }
  ~Threads() { set_op_threads(0); }
};

// One op at fixed shapes, run through its kernels with a workspace sized when `planned`
// threads were set (as a plan would size it), at `running` threads.
template <class T>
struct Run {
  const OpDef& def;
  Attrs attrs;
  std::vector<Shape> in_shapes, out_shapes;
  std::vector<std::vector<T>> in;
  std::vector<T> workspace, saved;

  Run(const char* op, std::vector<Shape> shapes, const Attrs& given, int planned)
      : def(find_op(op)), attrs(normalize_attrs(def, "n", given)), in_shapes(std::move(shapes)) {
    out_shapes = def.shape(in_shapes, attrs);
    for (std::size_t i = 0; i < in_shapes.size(); ++i) in.push_back(random_values<T>(numel(in_shapes[i]), 10 + i));
    const Threads t(planned);
    workspace.assign(def.workspace ? def.workspace(in_shapes, attrs) : 0, T(NAN));
    saved.assign(def.saved ? def.saved(in_shapes, attrs) : 0, T(NAN));
  }

  struct Result {
    std::vector<T> y;
    std::vector<std::vector<T>> d_in;
  };

  // Forward, then backward with dy = `dy_seed` values; d_in starts as `start` (accumulating
  // onto it when `accumulate`).
  Result run(int running, bool accumulate, T start = T(0)) {
    const Threads t(running);
    Result r;
    r.y.assign(numel(out_shapes[0]), T(NAN));
    std::vector<TensorRef<T>> in_refs, out_refs{{r.y.data(), out_shapes[0]}}, d_in_refs, d_out_refs;
    for (std::size_t i = 0; i < in.size(); ++i) in_refs.push_back({in[i].data(), in_shapes[i]});
    OpArgs<T> a;
    a.in = make_span(std::as_const(in_refs));
    a.out = make_span(std::as_const(out_refs));
    a.workspace = workspace.empty() ? nullptr : workspace.data();
    a.workspace_size = workspace.size();
    a.saved = saved.empty() ? nullptr : saved.data();
    a.attrs = &attrs;
    def.kernels<T>().forward(a);

    std::vector<T> dy = random_values<T>(r.y.size(), 99);
    d_out_refs.push_back({dy.data(), out_shapes[0]});
    for (std::size_t i = 0; i < in.size(); ++i) r.d_in.emplace_back(in[i].size(), start);
    for (std::size_t i = 0; i < in.size(); ++i)  // none for inputs without a gradient
      d_in_refs.push_back({def.differentiable[i] ? r.d_in[i].data() : nullptr, in_shapes[i]});
    const std::vector<char> acc(in.size(), accumulate ? 1 : 0);
    a.d_out = make_span(std::as_const(d_out_refs));
    a.d_in = make_span(std::as_const(d_in_refs));
    a.accumulate = make_span(acc);
    std::fill(workspace.begin(), workspace.end(), T(NAN));  // garbage on entry
    def.kernels<T>().backward(a);
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
    REQUIRE(many.workspace.size() > one.workspace.size());
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
  const Threads t(2);
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
