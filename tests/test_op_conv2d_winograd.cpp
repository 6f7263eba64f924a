// winograd_filters and conv2d_winograd (ops/conv2d_winograd.hpp): conv2d's values to float
// (and double) rounding against a double reference; bit for bit what the transforms
// written out one value at a time around gemm() give, on the process's kernel path (ctest
// runs the op tests once per path the CPU has, and gemm's small products have the same bits
// on the AVX2 and AVX-512 paths: test_op_blas); the fused relu + max-pool bit for bit
// against relu and the pool applied to the plain output; the same bits at 1 and 2 threads;
// shape errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/errors.hpp"
#include "kernels/blas.hpp"
#include "ops/conv2d_winograd.hpp"
#include "tests/error_message.hpp"
#include "tests/kernel_harness.hpp"
#include "tests/op_threads.hpp"
#include "tests/same_bits.hpp"
#include "tests/random_values.hpp"
#include "tests/winograd_cases.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

using Case = WinogradCase;
constexpr const auto& kCases = kWinogradCases;

Attrs padding(const Case& s) { return {{"padding", std::vector<std::int64_t>{s.ph, s.pw}}}; }
Dim out_h(const Case& s) { return s.H + 2 * s.ph - 2; }
Dim out_w(const Case& s) { return s.W + 2 * s.pw - 2; }
std::size_t sz(Dim n) { return static_cast<std::size_t>(n); }

template <class T>
std::vector<T> filters_of(const Case& s, const std::vector<T>& w) {
  KernelCall<T> call("winograd_filters", {{s.F, s.C, 3, 3}});
  std::vector<T> u(sz(16 * s.C * s.F));
  call.forward({const_cast<T*>(w.data())}, {u.data()});
  return u;
}

// conv2d_winograd, or with `pool` its then_relu_pool kernel.
template <class T>
std::vector<T> winograd(const Case& s, const std::vector<T>& x, const std::vector<T>& u, const std::vector<T>& b,
                        bool pool = false) {
  KernelCall<T> call("conv2d_winograd", {{s.N, s.C, s.H, s.W}, {16, s.C, s.F}, {s.F}}, padding(s), Mode::Eval);
  std::vector<T*> in{const_cast<T*>(x.data()), const_cast<T*>(u.data()), const_cast<T*>(b.data())};
  if (!pool) {
    std::vector<T> y(sz(s.N * s.F * out_h(s) * out_w(s)), T(NAN));
    call.forward(in, {y.data()});
    return y;
  }
  const Dim PH = out_h(s) / 2, PW = out_w(s) / 2;
  const Shape pooled{s.N, s.F, PH, PW};
  std::vector<T> y(sz(s.N * s.F * PH * PW), T(NAN));
  const std::size_t ws_size = call.def.then_relu_pool.workspace(call.in_shapes, call.attrs);
  std::vector<T> ws(ws_size);
  std::vector<TensorRef<T>> ins;
  for (std::size_t i = 0; i < 3; ++i) ins.push_back({in[i], call.in_shapes[i]});
  const TensorRef<T> outs[] = {{y.data(), pooled}};
  OpArgs<T> a;
  a.in = {ins.data(), ins.size()};
  a.out = {outs, 1};
  a.workspace = ws.data();
  a.workspace_size = ws.size();
  a.attrs = &call.attrs;
  a.mode = Mode::Eval;
  const auto& kernels = [&]() -> const Kernels<T>& {
    if constexpr (std::is_same_v<T, float>)
      return call.def.then_relu_pool.f32;
    else
      return call.def.then_relu_pool.f64;
  }();
  kernels.forward(a);
  return y;
}

// conv2d in double, and each output's sum of |w x| (what its rounding errors scale with).
void reference(const Case& s, const std::vector<double>& x, const std::vector<double>& w,
               const std::vector<double>& b, std::vector<double>& y, std::vector<double>& magnitude) {
  const Dim OH = out_h(s), OW = out_w(s);
  y.assign(sz(s.N * s.F * OH * OW), 0.0);
  magnitude.assign(y.size(), 0.0);
  for (Dim n = 0; n < s.N; ++n)
    for (Dim f = 0; f < s.F; ++f)
      for (Dim oh = 0; oh < OH; ++oh)
        for (Dim ow = 0; ow < OW; ++ow) {
          double sum = b[sz(f)], mag = std::abs(b[sz(f)]);
          for (Dim c = 0; c < s.C; ++c)
            for (Dim i = 0; i < 3; ++i)
              for (Dim j = 0; j < 3; ++j) {
                const Dim h = oh + i - s.ph, v = ow + j - s.pw;
                if (h < 0 || h >= s.H || v < 0 || v >= s.W) continue;
                const double p = w[sz(((f * s.C + c) * 3 + i) * 3 + j)] * x[sz(((n * s.C + c) * s.H + h) * s.W + v)];
                sum += p;
                mag += std::abs(p);
              }
          const std::size_t at = sz(((n * s.F + f) * OH + oh) * OW + ow);
          y[at] = sum;
          magnitude[at] = mag;
        }
}

template <class T>
std::vector<double> widened(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// The op's computation written out one value at a time, with the op's sums in the op's
// order, and the channel sums by gemm() as the op calls it.
std::vector<float> plain_winograd(const Case& s, const std::vector<float>& x, const std::vector<float>& w,
                                  const std::vector<float>& b) {
  const Dim C = s.C, F = s.F, OH = out_h(s), OW = out_w(s), TH = (OH + 1) / 2, TW = (OW + 1) / 2, T = TH * TW;
  std::vector<float> u(sz(16 * C * F));
  for (Dim f = 0; f < F; ++f)
    for (Dim c = 0; c < C; ++c) {
      const float* g = &w[sz((f * C + c) * 9)];
      float gg[4][3];
      for (int j = 0; j < 3; ++j) {
        gg[0][j] = g[j];
        gg[1][j] = (g[j] + g[3 + j] + g[6 + j]) * 0.5f;
        gg[2][j] = (g[j] - g[3 + j] + g[6 + j]) * 0.5f;
        gg[3][j] = g[6 + j];
      }
      for (int i = 0; i < 4; ++i) {
        const float r[4] = {gg[i][0], (gg[i][0] + gg[i][1] + gg[i][2]) * 0.5f, (gg[i][0] - gg[i][1] + gg[i][2]) * 0.5f,
                            gg[i][2]};
        for (int j = 0; j < 4; ++j) u[sz(((4 * i + j) * C + c) * F + f)] = r[j];
      }
    }
  std::vector<float> y(sz(s.N * F * OH * OW));
  std::vector<float> v(sz(16 * T * C)), m(sz(16 * T * F));
  for (Dim n = 0; n < s.N; ++n) {
    auto at = [&](Dim c, Dim h, Dim wc) {
      h -= s.ph;
      wc -= s.pw;
      return h < 0 || h >= s.H || wc < 0 || wc >= s.W ? 0.0f : x[sz(((n * C + c) * s.H + h) * s.W + wc)];
    };
    for (Dim ty = 0; ty < TH; ++ty)
      for (Dim tx = 0; tx < TW; ++tx)
        for (Dim c = 0; c < C; ++c) {
          float d[4][4], t[4][4];
          for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) d[i][j] = at(c, 2 * ty + i, 2 * tx + j);
          for (int j = 0; j < 4; ++j) {
            t[0][j] = d[0][j] - d[2][j];
            t[1][j] = d[1][j] + d[2][j];
            t[2][j] = d[2][j] - d[1][j];
            t[3][j] = d[1][j] - d[3][j];
          }
          for (int i = 0; i < 4; ++i) {
            const float r[4] = {t[i][0] - t[i][2], t[i][1] + t[i][2], t[i][2] - t[i][1], t[i][1] - t[i][3]};
            for (int j = 0; j < 4; ++j) v[sz(((4 * i + j) * T + ty * TW + tx) * C + c)] = r[j];
          }
        }
    for (Dim k = 0; k < 16; ++k) gemm<float>(false, false, T, F, C, 1.0f, &v[sz(k * T * C)], &u[sz(k * C * F)], 0.0f, &m[sz(k * T * F)]);
    for (Dim ty = 0; ty < TH; ++ty)
      for (Dim tx = 0; tx < TW; ++tx)
        for (Dim f = 0; f < F; ++f) {
          auto mv = [&](int k) { return m[sz((k * T + ty * TW + tx) * F + f)]; };
          float s0[4], s1[4];
          for (int j = 0; j < 4; ++j) {
            s0[j] = mv(j) + mv(4 + j) + mv(8 + j);
            s1[j] = mv(4 + j) - mv(8 + j) - mv(12 + j);
          }
          const float block[2][2] = {{s0[0] + s0[1] + s0[2] + b[sz(f)], s0[1] - s0[2] - s0[3] + b[sz(f)]},
                                     {s1[0] + s1[1] + s1[2] + b[sz(f)], s1[1] - s1[2] - s1[3] + b[sz(f)]}};
          for (int a = 0; a < 2; ++a)
            for (int e = 0; e < 2; ++e)
              if (2 * ty + a < OH && 2 * tx + e < OW)
                y[sz(((n * F + f) * OH + 2 * ty + a) * OW + 2 * tx + e)] = block[a][e];
        }
  }
  return y;
}

template <class T>
void check_against_reference(double tolerance) {
  std::uint64_t seed = 10;
  for (const Case& s : kCases) {
    INFO("N " << s.N << " C " << s.C << " F " << s.F << " H " << s.H << " W " << s.W << " padding " << s.ph << ","
              << s.pw);
    const std::vector<T> x = random_values<T>(sz(s.N * s.C * s.H * s.W), ++seed, -1, 1),
                         w = random_values<T>(sz(s.F * s.C * 9), ++seed, -1, 1),
                         b = random_values<T>(sz(s.F), ++seed, -1, 1);
    const std::vector<T> y = winograd(s, x, filters_of(s, w), b);
    std::vector<double> want, magnitude;
    reference(s, widened(x), widened(w), widened(b), want, magnitude);
    REQUIRE(y.size() == want.size());
    double worst = 0;
    for (std::size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::abs(double(y[i]) - want[i]) / magnitude[i]);
    INFO("max |y - conv2d| / sum |w x| = " << worst);
    CHECK(worst < tolerance);
  }
}

}  // namespace

TEST_CASE("conv2d_winograd computes conv2d to rounding", "[op][conv2d_winograd]") {
  // A few roundings of each output's sum of |w x| (float's epsilon is 1.2e-7, double's
  // 2.2e-16); measured at most 2.1e-7 and 4.6e-16 on these cases.
  check_against_reference<float>(1e-6);
  check_against_reference<double>(2e-15);
}

TEST_CASE("conv2d_winograd's float bits are the transforms' around gemm()", "[op][conv2d_winograd]") {
  std::uint64_t seed = 40;
  for (const Case& s : kCases) {
    INFO("N " << s.N << " C " << s.C << " F " << s.F << " H " << s.H << " W " << s.W);
    const std::vector<float> x = random_values<float>(sz(s.N * s.C * s.H * s.W), ++seed, -1, 1),
                             w = random_values<float>(sz(s.F * s.C * 9), ++seed, -1, 1),
                             b = random_values<float>(sz(s.F), ++seed, -1, 1);
    CHECK(same_bits(winograd(s, x, filters_of(s, w), b), plain_winograd(s, x, w, b)));
  }
}

TEST_CASE("conv2d_winograd + relu + max_pool2d gives the pool of the plain output's relu", "[op][conv2d_winograd]") {
  std::uint64_t seed = 70;
  std::size_t cut = 0;  // pooled values that the relu made 0
  for (const Case& s : kCases) {
    const Dim OH = out_h(s), OW = out_w(s), PH = OH / 2, PW = OW / 2;
    if (PH < 1 || PW < 1) continue;
    INFO("N " << s.N << " C " << s.C << " F " << s.F << " H " << s.H << " W " << s.W);
    for (int type = 0; type < 2; ++type) {
      auto check = [&](auto zero) {
        using T = decltype(zero);
        const std::vector<T> x = random_values<T>(sz(s.N * s.C * s.H * s.W), ++seed, -1, 1),
                             w = random_values<T>(sz(s.F * s.C * 9), ++seed, -1, 1),
                             b = random_values<T>(sz(s.F), ++seed, -1, 1);
        const std::vector<T> u = filters_of(s, w);
        const std::vector<T> y = winograd(s, x, u, b), pooled = winograd(s, x, u, b, true);
        std::vector<T> want(sz(s.N * s.F * PH * PW));
        for (Dim p = 0; p < s.N * s.F; ++p)
          for (Dim i = 0; i < PH; ++i)
            for (Dim j = 0; j < PW; ++j) {
              T best = -INFINITY;
              for (int a = 0; a < 2; ++a)
                for (int e = 0; e < 2; ++e) {
                  const T v = y[sz((p * OH + 2 * i + a) * OW + 2 * j + e)];
                  best = std::max(best, v > T(0) ? v : T(0));
                }
              want[sz((p * PH + i) * PW + j)] = best;
            }
        CHECK(same_bits(pooled, want));
        cut += static_cast<std::size_t>(std::count(want.begin(), want.end(), T(0)));
      };
      if (type == 0)
        check(0.0f);
      else
        check(0.0);
    }
  }
  CHECK(cut > 0);  // the relu mattered somewhere
}

TEST_CASE("conv2d_winograd gives the same bits at 1 and 2 threads", "[op][conv2d_winograd][threads]") {
  // Enough work to split the batch (2^21 multiply-adds).
  const Case s{6, 16, 32, 14, 14, 1, 1};
  const std::vector<float> x = random_values<float>(sz(s.N * s.C * s.H * s.W), 1, -1, 1),
                           w = random_values<float>(sz(s.F * s.C * 9), 2, -1, 1),
                           b = random_values<float>(sz(s.F), 3, -1, 1);
  std::vector<float> one, two, one_pooled, two_pooled;
  {
    OpThreads t(1);
    const std::vector<float> u = filters_of(s, w);
    one = winograd(s, x, u, b);
    one_pooled = winograd(s, x, u, b, true);
  }
  {
    OpThreads t(2);
    KernelCall<float> call("conv2d_winograd", {{s.N, s.C, s.H, s.W}, {16, s.C, s.F}, {s.F}}, padding(s), Mode::Eval);
    KernelCall<float> one_thread_sized("conv2d_winograd", {{1, s.C, s.H, s.W}, {16, s.C, s.F}, {s.F}}, padding(s));
    CHECK(call.workspace.size() == 2 * one_thread_sized.workspace.size());  // two parts
    const std::vector<float> u = filters_of(s, w);
    two = winograd(s, x, u, b);
    two_pooled = winograd(s, x, u, b, true);
  }
  CHECK(same_bits(one, two));
  CHECK(same_bits(one_pooled, two_pooled));
}

TEST_CASE("conv2d_winograd and winograd_filters refuse shapes they cannot take", "[op][conv2d_winograd]") {
  auto shape_error = [](const std::string& op, std::vector<Shape> in, const Attrs& attrs = {}) {
    return error_message<ShapeError>([&] { KernelCall<float> call(op, std::move(in), attrs); });
  };
  CHECK_THAT(shape_error("winograd_filters", {{4, 2, 5, 5}}), Contains("must hold 3x3 filters"));
  CHECK_THAT(shape_error("winograd_filters", {{4, 2, 3}}), Contains("w"));
  CHECK_THAT(shape_error("conv2d_winograd", {{1, 2, 5, 5}, {9, 2, 4}, {4}}), Contains("must be [16, C, F]"));
  CHECK_THAT(shape_error("conv2d_winograd", {{1, 3, 5, 5}, {16, 2, 4}, {4}}), Contains("has 3 channels but u"));
  CHECK_THAT(shape_error("conv2d_winograd", {{1, 2, 5, 5}, {16, 2, 4}, {5}}), Contains("does not match the 4 filters"));
  CHECK_THAT(shape_error("conv2d_winograd", {{1, 2, 2, 5}, {16, 2, 4}, {4}}),
             Contains("3x3 window is larger than the padded input"));
  CHECK_THAT(shape_error("conv2d_winograd", {{1, 2, 5, 5}, {16, 2, 4}, {4}},
                         {{"padding", std::vector<std::int64_t>{-1, 0}}}),
             Contains("must not be negative"));
}

TEST_CASE("winograd_filters and conv2d_winograd have no gradient rule", "[op][conv2d_winograd]") {
  for (const char* name : {"winograd_filters", "conv2d_winograd"}) {
    const OpDef& op = find_op(name);
    CHECK(op.f32.backward == nullptr);
    CHECK(op.f64.backward == nullptr);
    CHECK(op.then_relu_pool.f32.backward == nullptr);
  }
}

TEST_CASE("winograd_applies: 3x3 windows of stride 1 over 8 channels and 8 filters or more, 128 outputs per filter or more",
          "[op][conv2d_winograd]") {
  auto conv_attrs = [](std::int64_t stride) {
    return Attrs{{"stride", std::vector<std::int64_t>{stride, stride}}, {"padding", std::vector<std::int64_t>{1, 1}}};
  };
  CHECK(winograd_applies({2, 16, 14, 14}, {32, 16, 3, 3}, conv_attrs(1)));
  CHECK(winograd_applies({15, 8, 3, 3}, {8, 8, 3, 3}, conv_attrs(1)));  // 135 outputs per filter
  CHECK_FALSE(winograd_applies({2, 1, 28, 28}, {16, 1, 3, 3}, conv_attrs(1)));  // one channel
  CHECK_FALSE(winograd_applies({2, 16, 14, 14}, {4, 16, 3, 3}, conv_attrs(1)));  // four filters
  CHECK_FALSE(winograd_applies({2, 16, 14, 14}, {32, 16, 3, 3}, conv_attrs(2)));
  CHECK_FALSE(winograd_applies({2, 16, 14, 14}, {32, 16, 5, 5}, conv_attrs(1)));
  CHECK_FALSE(winograd_applies({2, 16, 14, 14}, {32, 16, 3, 1}, conv_attrs(1)));
  // Outputs per filter, N * OH * OW (padding 1 keeps the plane): 128 or more.
  CHECK(winograd_applies({1, 16, 14, 14}, {32, 16, 3, 3}, conv_attrs(1)));   // 196
  CHECK(winograd_applies({2, 16, 8, 8}, {32, 16, 3, 3}, conv_attrs(1)));     // 128
  CHECK_FALSE(winograd_applies({1, 32, 7, 7}, {32, 32, 3, 3}, conv_attrs(1)));  // 49
  CHECK_FALSE(winograd_applies({7, 16, 4, 4}, {32, 16, 3, 3}, conv_attrs(1)));  // 112
  CHECK(winograd_applies({8, 16, 4, 4}, {32, 16, 3, 3}, conv_attrs(1)));
}
