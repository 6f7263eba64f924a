// The kernel paths (kernels/isa.hpp): PLANGRAD_ISA's values and refusals, the path this
// process runs, and an op kernel as compiled for each path (ops/op.hpp's kernel_for).
// ctest runs op_tests once per path this CPU supports (tests/CMakeLists.txt), so the
// process's path below is each of them in turn; tests/isa_bits.cpp compares whole training
// runs across the paths.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "kernels/isa.hpp"
#include "kernels/small_gemm.hpp"
#include "ops/op.hpp"
#include "tests/error_message.hpp"
#include "tests/kernel_harness.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using plangrad::testing::error_message;
using plangrad::testing::same_bits;

namespace {

const Isa kPaths[] = {Isa::generic, Isa::avx2, Isa::avx512};

// Products and sums that an FMA could fuse, a division and a square root, vectorized on
// the AVX paths: every path must give the generic path's bits.
template <class T>
void elementwise(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  const std::size_t n = a.out[0].size();
  for (std::size_t i = 0; i < n; ++i) {
    const T v = x[i] * T(1.7) + T(0.3);
    y[i] = v * v / (T(1) + std::abs(x[i])) + std::sqrt(std::abs(v)) * x[i] - T(0.1);
  }
}

template <class T>
std::vector<T> run(KernelFn<T> kernel, const std::vector<T>& x) {
  std::vector<T> y(x.size());
  const TensorRef<T> in[] = {{const_cast<T*>(x.data()), {static_cast<Dim>(x.size())}}};
  const TensorRef<T> out[] = {{y.data(), {static_cast<Dim>(y.size())}}};
  OpArgs<T> a;
  a.in = {in, 1};
  a.out = {out, 1};
  kernel(a);
  return y;
}

}  // namespace

TEST_CASE("PLANGRAD_ISA lowers the kernel path and refuses what it cannot run", "[isa]") {
  CHECK(choose_isa(nullptr, Isa::avx512) == Isa::avx512);
  CHECK(choose_isa("", Isa::avx2) == Isa::avx2);
  CHECK(choose_isa("avx512", Isa::avx512) == Isa::avx512);
  CHECK(choose_isa("avx2", Isa::avx512) == Isa::avx2);
  CHECK(choose_isa("generic", Isa::avx512) == Isa::generic);
  CHECK(choose_isa("generic", Isa::generic) == Isa::generic);
  // Never raised: a path the CPU lacks is an error that says what the CPU runs.
  CHECK(error_message<UsageError>([] { choose_isa("avx512", Isa::avx2); }) ==
        "PLANGRAD_ISA=avx512: this CPU lacks AVX-512 F, BW, CD, DQ and VL, which the avx512 kernels "
        "need; it runs avx2 and generic");
  CHECK(error_message<UsageError>([] { choose_isa("avx2", Isa::generic); }) ==
        "PLANGRAD_ISA=avx2: this CPU lacks AVX2, FMA, BMI1, BMI2, LZCNT, MOVBE and F16C, which the "
        "avx2 kernels need; it runs generic");
  // Unknown values, near misses included.
  for (const char* bad : {"AVX2", "avx-512", "sse2", "native", " avx2"})
    CHECK(error_message<UsageError>([bad] { choose_isa(bad, Isa::avx512); }) ==
          std::string("PLANGRAD_ISA='") + bad +
              "' names no kernel path (expected avx512, avx2 or generic; this CPU runs avx512, avx2 and generic)");
  for (const Isa isa : kPaths) CHECK(choose_isa(isa_name(isa), Isa::avx512) == isa);
}

TEST_CASE("the process runs the path PLANGRAD_ISA names, or the best the CPU has", "[isa]") {
  const Isa best = best_supported_isa();
  CHECK(cpu_supports(Isa::generic));
  for (const Isa isa : kPaths) CHECK(cpu_supports(isa) == (static_cast<int>(isa) <= static_cast<int>(best)));
  const char* requested = std::getenv("PLANGRAD_ISA");
  INFO("PLANGRAD_ISA=" << (requested ? requested : "(unset)") << ", best " << isa_name(best));
#if defined(PLANGRAD_NATIVE_BUILD)
  CHECK(std::string(kernel_path_name()) == "native");
#else
  if (requested && *requested)
    CHECK(std::string(isa_name(kernel_isa())) == requested);
  else
    CHECK(kernel_isa() == best);
  CHECK(std::string(kernel_path_name()) == isa_name(kernel_isa()));
#endif
  CHECK(small_sgemm_uses_avx512() == (kernel_isa() == Isa::avx512));
  // PLANGRAD_SET_KERNELS and dispatch_kernels set the kernels compiled for that path.
  const Kernels<float> k = dispatch_kernels<float, &elementwise<float>, nullptr>();
  CHECK(k.forward == kernel_for<float, &elementwise<float>>(kernel_isa()));
  CHECK(k.backward == nullptr);
}

TEST_CASE("an element-wise kernel gives the same bits on every path", "[isa]") {
  std::vector<float> xf(1000);
  std::vector<double> xd(1000);
  for (std::size_t i = 0; i < xf.size(); ++i) {
    xf[i] = static_cast<float>(i) * 0.37f - 150.0f;
    xd[i] = static_cast<double>(i) * 0.37 - 150.0;
  }
  const std::vector<float> want_f = run<float>(&elementwise<float>, xf);
  const std::vector<double> want_d = run<double>(&elementwise<double>, xd);
  CHECK(kernel_for<float, &elementwise<float>>(Isa::generic) == &elementwise<float>);
  for (const Isa isa : kPaths) {
    if (!cpu_supports(isa)) continue;
    INFO("path " << isa_name(isa));
    if (isa != Isa::generic)
      CHECK(kernel_for<float, &elementwise<float>>(isa) != kernel_for<float, &elementwise<float>>(Isa::generic));
    CHECK(same_bits(run<float>(kernel_for<float, &elementwise<float>>(isa), xf), want_f));
    CHECK(same_bits(run<double>(kernel_for<double, &elementwise<double>>(isa), xd), want_d));
  }
  CHECK(kernel_for<float, nullptr>(Isa::avx512) == nullptr);
}

namespace {

// The float op `op` on xs, through its kernel on this process's path.
std::vector<float> float_forward(const char* op, const std::vector<float>& xs) {
  plangrad::testing::KernelCall<float> call(op, {Shape{static_cast<Dim>(xs.size())}});
  std::vector<float> x = xs, y(xs.size());
  call.forward({x.data()}, {y.data()});
  return y;
}

}  // namespace

TEST_CASE("float sigmoid and tanh are within 2 ulp of the exact values", "[isa][sigmoid][tanh]") {
  // Their float kernels are plain arithmetic (ops/activations.cpp), compiled for each path.
  std::vector<float> xs;
  for (float x = -100.0f; x <= 100.0f; x += 0.0137f) xs.push_back(x);
  for (float x = -1.0f; x <= 1.0f; x += 1.0f / 4096) xs.push_back(x);
  for (const float x : {0.0f, 1e-30f, -1e-30f, 1e-7f, 0.625f, -0.625f, 88.0f, 88.5f, -87.6f, -88.5f, 1000.0f, -1000.0f})
    xs.push_back(x);
  const std::vector<float> sig = float_forward("sigmoid", xs), th = float_forward("tanh", xs);
  const double ulp = std::ldexp(1.0, -23);  // of a float in [1, 2)
  double worst_sig = 0, worst_tanh = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double x = xs[i];
    const double s = 1.0 / (1.0 + std::exp(-x)), t = std::tanh(x);
    INFO("x " << xs[i] << " sigmoid " << sig[i] << " (exact " << s << "), tanh " << th[i] << " (exact " << t << ")");
    // Relative to the exact value; below the smallest normal float (sigmoid under -87) any
    // value there, 0 included, will do.
    const double tiny = std::numeric_limits<float>::min();
    const double es = std::abs(s) < tiny && std::abs(sig[i]) < tiny ? 0.0 : std::abs(sig[i] - s) / std::abs(s);
    const double et = std::abs(th[i] - t) / std::max(std::abs(t), tiny);
    CHECK(es <= 2 * ulp);
    CHECK(et <= 2 * ulp);
    worst_sig = std::max(worst_sig, es);
    worst_tanh = std::max(worst_tanh, et);
  }
  INFO("worst relative errors: sigmoid " << worst_sig / ulp << " ulp, tanh " << worst_tanh / ulp << " ulp");
  CHECK(worst_sig > 0);  // the comparison sees rounding at all
  // Saturation, infinities and NaN.
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> special = {inf, -inf, nan, 1000.0f, -1000.0f};
  const std::vector<float> s2 = float_forward("sigmoid", special), t2 = float_forward("tanh", special);
  CHECK(s2[0] == 1.0f);
  CHECK(s2[1] == 0.0f);
  CHECK(std::isnan(s2[2]));
  CHECK(s2[3] == 1.0f);
  CHECK(s2[4] == 0.0f);
  CHECK(t2[0] == 1.0f);
  CHECK(t2[1] == -1.0f);
  CHECK(std::isnan(t2[2]));
  CHECK(t2[3] == 1.0f);
  CHECK(t2[4] == -1.0f);
}
