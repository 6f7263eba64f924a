// conv2d's stride-1 float path (kernels/conv_rows.hpp, ops/conv2d_rows.hpp): the forward
// bit for bit against im2col + small_sgemm on each kernel path, the data gradient against
// a double reference, the AVX2 and AVX-512 kernels against each other, and the op's float
// kernels (which take the path) against its double ones (which keep im2col).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "kernels/conv_rows.hpp"
#include "kernels/small_gemm.hpp"
#include "ops/conv2d_cols.hpp"
#include "ops/conv2d_rows.hpp"
#include "tests/gradcheck.hpp"
#include "tests/kernel_harness.hpp"
#include "tests/random_values.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

struct Case {
  Dim N, C, F, H, W, KH, KW, ph, pw;
};

// Odd sizes, rows narrower than 16 and wider than 32 (OW = 33: three vectors a row), one
// plane and one filter, F not a multiple of any tile's rows, 1x1 to 5x5 windows with
// padding 0 to 2, a window as large as the padded input, the W4/W5 convolutions.
const Case kCases[] = {
    {1, 1, 16, 28, 28, 3, 3, 1, 1}, {2, 16, 32, 14, 14, 3, 3, 1, 1}, {3, 3, 5, 7, 9, 3, 3, 1, 1},
    {1, 2, 3, 5, 6, 5, 5, 2, 2},    {2, 3, 4, 6, 5, 1, 1, 1, 1},     {5, 2, 13, 9, 17, 3, 5, 0, 2},
    {1, 4, 9, 4, 4, 3, 3, 0, 0},    {2, 1, 1, 3, 3, 5, 5, 2, 2},     {3, 5, 7, 20, 33, 3, 3, 1, 1},
    {2, 3, 17, 6, 1, 3, 1, 1, 0},   {1, 7, 25, 8, 19, 2, 4, 1, 2},   {4, 2, 11, 5, 5, 5, 3, 1, 0},
    {2, 3, 5, 6, 12, 3, 3, 1, 1},   {1, 2, 9, 5, 30, 3, 5, 0, 2},    {3, 4, 7, 4, 13, 5, 3, 2, 1},
};

Window2d window(const Case& s) {
  Window2d g;
  g.h = s.H;
  g.w = s.W;
  g.kh = s.KH;
  g.kw = s.KW;
  g.ph = s.ph;
  g.pw = s.pw;
  g.oh = s.H + 2 * s.ph - s.KH + 1;
  g.ow = s.W + 2 * s.pw - s.KW + 1;
  return g;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::vector<Isa> paths() {
  std::vector<Isa> p{Isa::generic};
  for (Isa isa : {Isa::avx2, Isa::avx512})
    if (cpu_supports(isa)) p.push_back(isa);
  return p;
}

std::size_t sz(Dim n) { return static_cast<std::size_t>(n); }

// One image: y[f, oh, ow] = sum_{c, i, j} w[f, c, i, j] x[c, oh + i - ph, ow + j - pw] in double.
std::vector<double> forward_reference(const Case& s, const std::vector<float>& x, const std::vector<float>& w) {
  const Window2d g = window(s);
  std::vector<double> y(sz(s.F * g.oh * g.ow), 0.0);
  for (Dim f = 0; f < s.F; ++f)
    for (Dim oh = 0; oh < g.oh; ++oh)
      for (Dim ow = 0; ow < g.ow; ++ow) {
        double acc = 0;
        for (Dim c = 0; c < s.C; ++c)
          for (Dim i = 0; i < s.KH; ++i)
            for (Dim j = 0; j < s.KW; ++j) {
              const Dim ih = oh + i - s.ph, iw = ow + j - s.pw;
              if (ih >= 0 && ih < s.H && iw >= 0 && iw < s.W)
                acc += double(w[sz(((f * s.C + c) * s.KH + i) * s.KW + j)]) * double(x[sz((c * s.H + ih) * s.W + iw)]);
            }
        y[sz((f * g.oh + oh) * g.ow + ow)] = acc;
      }
  return y;
}

// One image's dx from dy [F, OH, OW]: the adjoint of forward_reference, in double.
std::vector<double> dx_reference(const Case& s, const std::vector<float>& dy, const std::vector<float>& w) {
  const Window2d g = window(s);
  std::vector<double> dx(sz(s.C * s.H * s.W), 0.0);
  for (Dim f = 0; f < s.F; ++f)
    for (Dim oh = 0; oh < g.oh; ++oh)
      for (Dim ow = 0; ow < g.ow; ++ow)
        for (Dim c = 0; c < s.C; ++c)
          for (Dim i = 0; i < s.KH; ++i)
            for (Dim j = 0; j < s.KW; ++j) {
              const Dim ih = oh + i - s.ph, iw = ow + j - s.pw;
              if (ih >= 0 && ih < s.H && iw >= 0 && iw < s.W)
                dx[sz((c * s.H + ih) * s.W + iw)] +=
                    double(w[sz(((f * s.C + c) * s.KH + i) * s.KW + j)]) * double(dy[sz((f * g.oh + oh) * g.ow + ow)]);
            }
  return dx;
}

void require_near(const std::vector<float>& got, const std::vector<double>& want, double scale) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    REQUIRE(std::abs(double(got[i]) - want[i]) <= 1e-5 * scale);
  }
}

// The padded input of one image, by conv_rows_pad on `isa`, into a buffer of exactly its
// size (the kernels must read nothing past it; ASan checks).
std::vector<float> padded(Isa isa, const std::vector<float>& x, Dim planes, Dim h, Dim w, Dim ph, Dim pw) {
  std::vector<float> xp(sz(planes * (h + 2 * ph) * (w + 2 * pw)), std::nanf(""));
  conv_rows_pad_on(isa, x.data(), planes, h, w, ph, pw, xp.data(), true);
  return xp;
}

// conv_rows' forward of one image on `isa` onto y (beta) with or without bias.
std::vector<float> rows_forward(Isa isa, const Case& s, const std::vector<float>& x, const std::vector<float>& w,
                                const float* bias, float beta, std::vector<float> y) {
  const Window2d g = window(s);
  const std::vector<float> xp = padded(isa, x, s.C, s.H, s.W, s.ph, s.pw);
  ConvRows c = conv_rows_path::forward(g, s.C, s.F, w.data(), bias);
  c.xp = xp.data();
  c.beta = beta;
  c.out = y.data();
  conv_rows_on(isa, c);
  return y;
}

std::vector<float> rows_dx(Isa isa, const Case& s, const std::vector<float>& dy, const std::vector<float>& w,
                           float beta, std::vector<float> dx) {
  const Window2d g = window(s);
  const std::vector<float> dyp =
      padded(isa, dy, s.F, g.oh, g.ow, conv_rows_path::dx_pad_h(g), conv_rows_path::dx_pad_w(g));
  ConvRows c = conv_rows_path::data_gradient(g, s.C, s.F, w.data());
  c.xp = dyp.data();
  c.beta = beta;
  c.out = dx.data();
  conv_rows_on(isa, c);
  return dx;
}

}  // namespace

TEST_CASE("conv_rows' forward gives im2col + small_sgemm's bits on every path", "[op][conv2d][conv_rows]") {
  // The same sums in the same order: k = (c, i, j) from 0, FMAs on the AVX paths, then the
  // bias (the GEMM adds onto a bias-filled y) or beta * y. small_sgemm's narrow products
  // (OH*OW <= 12) sum in another order: those are held to the double reference only.
  std::uint64_t seed = 1000;
  for (const Case& s : kCases)
    for (Isa isa : paths()) {
      const Window2d g = window(s);
      const Dim ckk = s.C * s.KH * s.KW, ohw = g.oh * g.ow;
      INFO("C " << s.C << " F " << s.F << " " << s.H << "x" << s.W << " kernel " << s.KH << "x" << s.KW << " padding "
                << s.ph << "," << s.pw << " path " << isa_name(isa));
      const std::vector<float> x = random_values<float>(sz(s.C * s.H * s.W), ++seed),
                               w = random_values<float>(sz(s.F * ckk), ++seed), b = random_values<float>(sz(s.F), ++seed),
                               y0 = random_values<float>(sz(s.F * ohw), ++seed);
      std::vector<float> col(sz(ckk * ohw));
      conv_cols::im2col_general(x.data(), s.C, g, col.data());
      const std::vector<double> ref = forward_reference(s, x, w);
      const double scale = double(ckk);
      {
        INFO("bias");
        std::vector<float> want(sz(s.F * ohw));
        for (Dim f = 0; f < s.F; ++f) std::fill_n(want.begin() + f * ohw, ohw, b[sz(f)]);
        small_sgemm_on(isa, false, false, s.F, ohw, ckk, 1.0f, w.data(), col.data(), 1.0f, want.data());
        const std::vector<float> got = rows_forward(isa, s, x, w, b.data(), 0.0f, std::vector<float>(y0.size(), std::nanf("")));
        if (ohw > 12) REQUIRE(same_bits(got, want));
        std::vector<double> ref_b = ref;
        for (Dim f = 0; f < s.F; ++f)
          for (Dim k = 0; k < ohw; ++k) ref_b[sz(f * ohw + k)] += b[sz(f)];
        require_near(got, ref_b, scale);
      }
      for (const float beta : {0.0f, 1.0f, 0.5f}) {
        INFO("beta " << beta);
        std::vector<float> want = y0;
        small_sgemm_on(isa, false, false, s.F, ohw, ckk, 1.0f, w.data(), col.data(), beta, want.data());
        const std::vector<float> got = rows_forward(isa, s, x, w, nullptr, beta, beta == 0.0f ? std::vector<float>(y0.size(), std::nanf("")) : y0);
        if (ohw > 12) REQUIRE(same_bits(got, want));
        std::vector<double> ref_beta = ref;
        for (std::size_t k = 0; k < ref.size(); ++k) ref_beta[k] += double(beta) * double(y0[k]);
        require_near(got, ref_beta, scale);
      }
    }
}

TEST_CASE("conv_rows' data gradient matches a double reference on every path", "[op][conv2d][conv_rows]") {
  std::uint64_t seed = 2000;
  for (const Case& s : kCases)
    for (Isa isa : paths()) {
      const Window2d g = window(s);
      if (conv_rows_path::dx_pad_h(g) < 0 || conv_rows_path::dx_pad_w(g) < 0) continue;
      INFO("C " << s.C << " F " << s.F << " " << s.H << "x" << s.W << " kernel " << s.KH << "x" << s.KW << " padding "
                << s.ph << "," << s.pw << " path " << isa_name(isa));
      const std::vector<float> dy = random_values<float>(sz(s.F * g.oh * g.ow), ++seed),
                               w = random_values<float>(sz(s.F * s.C * s.KH * s.KW), ++seed),
                               dx0 = random_values<float>(sz(s.C * s.H * s.W), ++seed);
      const std::vector<double> ref = dx_reference(s, dy, w);
      const double scale = double(s.F * s.KH * s.KW);
      require_near(rows_dx(isa, s, dy, w, 0.0f, std::vector<float>(dx0.size(), std::nanf(""))), ref, scale);
      std::vector<double> ref_acc = ref;
      for (std::size_t k = 0; k < ref.size(); ++k) ref_acc[k] += double(dx0[k]);
      require_near(rows_dx(isa, s, dy, w, 1.0f, dx0), ref_acc, scale);
    }
}

TEST_CASE("conv_rows' AVX2 and AVX-512 kernels give the same bits", "[op][conv2d][conv_rows][isa]") {
  if (!cpu_supports(Isa::avx2) || !cpu_supports(Isa::avx512)) {
    WARN("this CPU lacks AVX2 or AVX-512: nothing to compare");
    return;
  }
  std::uint64_t seed = 3000;
  for (const Case& s : kCases) {
    const Window2d g = window(s);
    INFO("C " << s.C << " F " << s.F << " " << s.H << "x" << s.W << " kernel " << s.KH << "x" << s.KW);
    const std::vector<float> x = random_values<float>(sz(s.C * s.H * s.W), ++seed),
                             w = random_values<float>(sz(s.F * s.C * s.KH * s.KW), ++seed),
                             b = random_values<float>(sz(s.F), ++seed),
                             y0 = random_values<float>(sz(s.F * g.oh * g.ow), ++seed);
    REQUIRE(same_bits(rows_forward(Isa::avx2, s, x, w, b.data(), 0.0f, y0), rows_forward(Isa::avx512, s, x, w, b.data(), 0.0f, y0)));
    REQUIRE(same_bits(rows_forward(Isa::avx2, s, x, w, nullptr, 0.75f, y0), rows_forward(Isa::avx512, s, x, w, nullptr, 0.75f, y0)));
    if (conv_rows_path::dx_pad_h(g) < 0 || conv_rows_path::dx_pad_w(g) < 0) continue;
    REQUIRE(same_bits(rows_dx(Isa::avx2, s, y0, w, 1.0f, x), rows_dx(Isa::avx512, s, y0, w, 1.0f, x)));
  }
}

TEST_CASE("conv_rows_pad writes the inside and, when asked, the zeros around", "[op][conv2d][conv_rows]") {
  const Dim planes = 3, h = 5, w = 19, ph = 2, pw = 1, hp = h + 2 * ph, wp = w + 2 * pw;
  const std::vector<float> x = random_values<float>(sz(planes * h * w), 5), x2 = random_values<float>(sz(planes * h * w), 6);
  for (Isa isa : paths()) {
    INFO("path " << isa_name(isa));
    std::vector<float> xp(sz(planes * hp * wp), std::nanf(""));
    auto check = [&](const std::vector<float>& src) {
      for (Dim p = 0; p < planes; ++p)
        for (Dim r = 0; r < hp; ++r)
          for (Dim c = 0; c < wp; ++c) {
            const bool inside = r >= ph && r < ph + h && c >= pw && c < pw + w;
            const float want = inside ? src[sz((p * h + r - ph) * w + c - pw)] : 0.0f;
            REQUIRE(std::memcmp(&xp[sz((p * hp + r) * wp + c)], &want, sizeof(float)) == 0);
          }
    };
    conv_rows_pad_on(isa, x.data(), planes, h, w, ph, pw, xp.data(), true);
    check(x);
    conv_rows_pad_on(isa, x2.data(), planes, h, w, ph, pw, xp.data(), false);  // the zeros kept
    check(x2);
  }
}

namespace {

std::vector<float> to_floats(const Array& a) { return std::vector<float>(a.begin(), a.end()); }

Array as_array(const std::vector<float>& v, const Shape& s) { return shaped(s, std::vector<double>(v.begin(), v.end())); }

}  // namespace

// Through the op: the float kernels take conv_rows (checked: the workspace fits), the
// double ones keep im2col + GEMM and col2im; dx alone with and without accumulation, and
// dx with dw and db (which reuse the slice dx pads dy into).
TEST_CASE("conv2d's stride-1 float path agrees with the double kernels", "[op][conv2d][conv_rows]") {
  std::uint64_t seed = 4000;
  for (const Case& s : kCases) {
    const Attrs attrs{{"stride", std::vector<std::int64_t>{1, 1}}, {"padding", std::vector<std::int64_t>{s.ph, s.pw}}};
    const Shape xs{s.N, s.C, s.H, s.W}, ws{s.F, s.C, s.KH, s.KW}, bs{s.F};
    INFO("N " << s.N << " C " << s.C << " F " << s.F << " " << s.H << "x" << s.W << " kernel " << s.KH << "x" << s.KW
              << " padding " << s.ph << "," << s.pw);
    KernelCall<float> call("conv2d", {xs, ws, bs}, attrs);
    const Window2d g = window(s);
    const bool pointwise = s.KH == 1 && s.KW == 1 && s.ph == 0 && s.pw == 0;
    const std::size_t col = sz(s.C * s.KH * s.KW * g.oh * g.ow);
    if (!pointwise) {
      REQUIRE(call.workspace.size() >= col);
      // conv2d takes conv_rows where the output rows fill their vectors (wide_rows).
      REQUIRE(conv_rows_path::forward_fits(g, s.C, s.F, col) == conv_rows_path::wide_rows(g.ow));
    }
    const bool dx_rows = !pointwise && conv_rows_path::data_gradient_fits(g, s.C, s.F, col);
    INFO("dx by conv_rows: " << dx_rows);

    const std::vector<Array> in64 = {random_array(xs, ++seed), random_array(ws, ++seed), random_array(bs, ++seed)};
    const Array dy64 = random_array(call.out_shapes[0], ++seed), dx0 = random_array(xs, ++seed);
    std::vector<Array> in_copy = in64;
    const Array y64 = run_op_forward("conv2d", in_copy, attrs)[0];
    const std::vector<Array> g64 = run_op_backward("conv2d", in64, {dy64}, attrs);

    std::vector<std::vector<float>> in, out = call.fresh_outputs(), d_out{to_floats(dy64)};
    for (const Array& a : in64) in.push_back(to_floats(a));
    call.forward(pointers(in), pointers(out));
    require_close(as_array(out[0], call.out_shapes[0]), y64, 1e-4, 1e-5);

    for (const bool accumulate : {false, true}) {
      INFO("dx alone, accumulate " << accumulate);
      std::vector<float> dx = accumulate ? to_floats(dx0) : std::vector<float>(sz(s.N * s.C * s.H * s.W), std::nanf(""));
      call.backward(pointers(in), pointers(out), pointers(d_out), {dx.data(), nullptr, nullptr},
                    {char(accumulate), 0, 0});
      require_close(as_array(dx, xs), accumulate ? Array(g64[0] + dx0) : g64[0], 1e-4, 1e-5);
    }
    {
      INFO("dx, dw and db");
      std::vector<std::vector<float>> d_in;
      for (const Array& a : in64) d_in.emplace_back(a.size());
      call.backward(pointers(in), pointers(out), pointers(d_out), pointers(d_in), std::vector<char>(3, 0));
      for (std::size_t i = 0; i < 3; ++i) {
        INFO("gradient of input " << i);
        require_close(as_array(d_in[i], call.in_shapes[i]), g64[i], 1e-4, 1e-5);
      }
    }
  }
}
