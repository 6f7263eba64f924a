// conv2d_by_winograd and conv2d_nobias_by_winograd (ops/conv2d_winograd.hpp), the training
// plans' 3x3 convolutions: forward, dx and dw to float rounding of conv2d's double values,
// measured against each value's sum of magnitudes; db bit for bit conv2d's; central
// differences in double; the accumulate flags; the same bits at 1 and 2 threads; shapes
// refused.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/errors.hpp"
#include "ops/conv2d_winograd.hpp"
#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"
#include "tests/kernel_harness.hpp"
#include "tests/op_threads.hpp"
#include "tests/random_values.hpp"
#include "tests/same_bits.hpp"
#include "tests/winograd_cases.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

using Case = WinogradCase;
constexpr const auto& kCases = kWinogradCases;

std::size_t sz(Dim n) { return static_cast<std::size_t>(n); }
Attrs padding(const Case& s) { return {{"padding", std::vector<std::int64_t>{s.ph, s.pw}}}; }
Shape x_shape(const Case& s) { return {s.N, s.C, s.H, s.W}; }
Shape w_shape(const Case& s) { return {s.F, s.C, 3, 3}; }
Dim y_size(const Case& s) { return s.N * s.F * (s.H + 2 * s.ph - 2) * (s.W + 2 * s.pw - 2); }

template <class T>
struct Grads {
  std::vector<T> y, dx, dw, db;
};

// op's forward and backward (bias: conv2d or conv2d_by_winograd), every gradient written;
// `pre` given: accumulated onto it.
template <class T>
Grads<T> run(const char* op, const Case& s, const std::vector<T>& x, const std::vector<T>& w, const std::vector<T>& b,
             const std::vector<T>& dy, const Grads<T>* pre = nullptr) {
  KernelCall<T> call(op, {x_shape(s), w_shape(s), {s.F}}, padding(s));
  Grads<T> g;
  g.y.assign(sz(y_size(s)), T(NAN));
  g.dx.assign(x.size(), T(NAN));
  g.dw.assign(w.size(), T(NAN));
  g.db.assign(b.size(), T(NAN));
  if (pre) {
    g.dx = pre->dx;
    g.dw = pre->dw;
    g.db = pre->db;
  }
  std::vector<T*> in{const_cast<T*>(x.data()), const_cast<T*>(w.data()), const_cast<T*>(b.data())};
  call.forward(in, {g.y.data()});
  const char acc = pre ? 1 : 0;
  call.backward(in, {g.y.data()}, {const_cast<T*>(dy.data())}, {g.dx.data(), g.dw.data(), g.db.data()}, {acc, acc, acc});
  return g;
}

std::vector<double> absolute(std::vector<double> v) {
  for (double& e : v) e = std::abs(e);
  return v;
}

// max |got - want| / magnitude over the elements.
double worst(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& magnitude) {
  double m = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    m = std::max(m, std::abs(double(got[i]) - want[i]) / std::max(magnitude[i], 1e-30));
  return m;
}

}  // namespace

TEST_CASE("conv2d_by_winograd computes conv2d's y, dx and dw to float rounding, and its db bit for bit",
          "[op][conv2d_by_winograd]") {
  std::uint64_t seed = 100;
  for (const Case& s : kCases) {
    INFO("N " << s.N << " C " << s.C << " F " << s.F << " H " << s.H << " W " << s.W << " padding " << s.ph << ","
              << s.pw);
    const std::vector<float> x = random_values<float>(sz(s.N * s.C * s.H * s.W), ++seed),
                             w = random_values<float>(sz(s.F * s.C * 9), ++seed),
                             b = random_values<float>(sz(s.F), ++seed), dy = random_values<float>(sz(y_size(s)), ++seed);
    const Grads<float> got = run("conv2d_by_winograd", s, x, w, b, dy);
    const std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end()), bd(b.begin(), b.end()),
        dyd(dy.begin(), dy.end());
    // conv2d in double, and on the absolute values: each value's sum of |terms|, what its
    // rounding errors scale with.
    const Grads<double> want = run("conv2d", s, xd, wd, bd, dyd);
    const Grads<double> mag = run("conv2d", s, absolute(xd), absolute(wd), absolute(bd), absolute(dyd));
    const double ey = worst(got.y, want.y, mag.y), edx = worst(got.dx, want.dx, mag.dx),
                 edw = worst(got.dw, want.dw, mag.dw);
    INFO("y " << ey << ", dx " << edx << ", dw " << edw);
    CHECK(ey < 1e-6);
    CHECK(edx < 1e-6);
    // dw's values are built from the transformed blocks, four times x's and dy's sums, and
    // cancel in G^T dU G: a single product (the 1x1 output) comes out within 47 float
    // roundings of its magnitude.
    CHECK(edw < 1e-5);
    CHECK(same_bits(got.db, run("conv2d", s, x, w, b, dy).db));

    // Double: to double rounding, by the same factors.
    const Grads<double> exact = run("conv2d_by_winograd", s, xd, wd, bd, dyd);
    for (std::size_t i = 0; i < exact.dw.size(); ++i) REQUIRE(std::abs(exact.dw[i] - want.dw[i]) <= 1e-13 * mag.dw[i]);
    for (std::size_t i = 0; i < exact.dx.size(); ++i) REQUIRE(std::abs(exact.dx[i] - want.dx[i]) <= 1e-13 * mag.dx[i]);
    for (std::size_t i = 0; i < exact.y.size(); ++i) REQUIRE(std::abs(exact.y[i] - want.y[i]) <= 1e-13 * mag.y[i]);
  }
}

TEST_CASE("conv2d_nobias_by_winograd is conv2d_by_winograd with a zero bias", "[op][conv2d_by_winograd]") {
  const Case s = kCases[1];
  const std::vector<float> x = random_values<float>(sz(s.N * s.C * s.H * s.W), 1),
                           w = random_values<float>(sz(s.F * s.C * 9), 2), dy = random_values<float>(sz(y_size(s)), 3);
  const std::vector<float> zero(sz(s.F), 0.0f);
  const Grads<float> with_bias = run("conv2d_by_winograd", s, x, w, zero, dy);
  KernelCall<float> call("conv2d_nobias_by_winograd", {x_shape(s), w_shape(s)}, padding(s));
  std::vector<float> y(sz(y_size(s))), dx(x.size()), dw(w.size());
  std::vector<float*> in{const_cast<float*>(x.data()), const_cast<float*>(w.data())};
  call.forward(in, {y.data()});
  call.backward(in, {y.data()}, {const_cast<float*>(dy.data())}, {dx.data(), dw.data()}, {0, 0});
  CHECK(same_bits(y, with_bias.y));
  CHECK(same_bits(dx, with_bias.dx));
  CHECK(same_bits(dw, with_bias.dw));
}

TEST_CASE("conv2d_by_winograd's gradients match central differences", "[op][conv2d_by_winograd][gradcheck]") {
  for (const Case& s : {Case{2, 3, 4, 5, 5, 1, 1}, Case{1, 2, 3, 5, 4, 0, 2}, Case{2, 2, 2, 3, 6, 2, 0}}) {
    GradCheckOptions options;
    options.attrs = padding(s);
    const std::vector<double> x = random_values<double>(sz(s.N * s.C * s.H * s.W), 7),
                              w = random_values<double>(sz(s.F * s.C * 9), 8), b = random_values<double>(sz(s.F), 9);
    const Array xa = shaped(x_shape(s), x), wa = shaped(w_shape(s), w), ba = shaped({s.F}, b);
    check_each_input_alone("conv2d_by_winograd", {xa, wa, ba}, options);
    check_each_input_alone("conv2d_nobias_by_winograd", {xa, wa}, options);
  }
}

TEST_CASE("conv2d_by_winograd accumulates each gradient onto what is there", "[op][conv2d_by_winograd]") {
  const Case s = kCases[3];
  const std::vector<float> x = random_values<float>(sz(s.N * s.C * s.H * s.W), 11),
                           w = random_values<float>(sz(s.F * s.C * 9), 12), b = random_values<float>(sz(s.F), 13),
                           dy = random_values<float>(sz(y_size(s)), 14);
  Grads<float> pre;
  pre.dx = random_values<float>(x.size(), 15);
  pre.dw = random_values<float>(w.size(), 16);
  pre.db = random_values<float>(b.size(), 17);
  const Grads<float> fresh = run("conv2d_by_winograd", s, x, w, b, dy);
  const Grads<float> added = run("conv2d_by_winograd", s, x, w, b, dy, &pre);
  auto sum = [](const std::vector<float>& a, const std::vector<float>& c) {
    std::vector<float> r(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) r[i] = a[i] + c[i];
    return r;
  };
  CHECK(same_bits(added.dx, sum(pre.dx, fresh.dx)));
  CHECK(same_bits(added.dw, sum(pre.dw, fresh.dw)));
  CHECK(same_bits(added.db, sum(pre.db, fresh.db)));
}

TEST_CASE("conv2d_by_winograd gives the same bits at 1 and 2 threads",
          "[op][conv2d_by_winograd][threads]") {
  const Case s{19, 16, 32, 14, 14, 1, 1};  // dw's four chunks of 5, 5, 5 and 4 images
  const std::vector<float> x = random_values<float>(sz(s.N * s.C * s.H * s.W), 21),
                           w = random_values<float>(sz(s.F * s.C * 9), 22), b = random_values<float>(sz(s.F), 23),
                           dy = random_values<float>(sz(y_size(s)), 24);
  Grads<float> one, two;
  {
    OpThreads t(1);
    one = run("conv2d_by_winograd", s, x, w, b, dy);
  }
  {
    OpThreads t(2);
    KernelCall<float> call("conv2d_by_winograd", {x_shape(s), w_shape(s), {s.F}}, padding(s));
    KernelCall<float> alone("conv2d_by_winograd", {{1, s.C, s.H, s.W}, w_shape(s), {s.F}}, padding(s));
    CHECK(call.workspace.size() > alone.workspace.size());  // room for two parts
    two = run("conv2d_by_winograd", s, x, w, b, dy);
  }
  CHECK(same_bits(one.y, two.y));
  CHECK(same_bits(one.dx, two.dx));
  CHECK(same_bits(one.db, two.db));
  CHECK(same_bits(one.dw, two.dw));
}

TEST_CASE("conv2d_by_winograd refuses what F(2x2, 3x3) does not compute", "[op][conv2d_by_winograd]") {
  auto shape_error = [](std::vector<Shape> in, const Attrs& attrs = {}) {
    return error_message<ShapeError>([&] { KernelCall<float> call("conv2d_by_winograd", std::move(in), attrs); });
  };
  const Attrs stride2{{"stride", std::vector<std::int64_t>{2, 2}}};
  const Attrs padding3{{"padding", std::vector<std::int64_t>{3, 1}}};
  CHECK_THAT(shape_error({{1, 2, 8, 8}, {4, 2, 3, 3}, {4}}, stride2), Contains("not stride 1 with padding 2 or less"));
  CHECK_THAT(shape_error({{1, 2, 8, 8}, {4, 2, 3, 3}, {4}}, padding3), Contains("not stride 1 with padding 2 or less"));
  CHECK_THAT(shape_error({{1, 2, 8, 8}, {4, 2, 5, 5}, {4}}), Contains("must hold 3x3 filters"));
  CHECK_THAT(shape_error({{1, 2, 2, 8}, {4, 2, 3, 3}, {4}}), Contains("2"));  // conv2d's own rule: too small
  CHECK_THAT(shape_error({{1, 2, 8, 8}, {4, 2, 3, 3}, {5}}), Contains("b"));
}

TEST_CASE("winograd_trains: winograd_applies with padding of 2 or less", "[op][conv2d_by_winograd]") {
  auto attrs = [](std::int64_t pad) {
    return Attrs{{"stride", std::vector<std::int64_t>{1, 1}}, {"padding", std::vector<std::int64_t>{pad, pad}}};
  };
  CHECK(winograd_trains({128, 16, 14, 14}, {32, 16, 3, 3}, attrs(1)));
  CHECK(winograd_trains({128, 16, 14, 14}, {32, 16, 3, 3}, attrs(2)));
  CHECK_FALSE(winograd_trains({128, 16, 14, 14}, {32, 16, 3, 3}, attrs(3)));
  CHECK_FALSE(winograd_trains({128, 1, 28, 28}, {16, 1, 3, 3}, attrs(1)));  // winograd_applies refuses
}
