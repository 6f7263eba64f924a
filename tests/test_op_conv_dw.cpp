// conv2d's direct weight gradient (kernels/conv_dw.hpp): against a double reference over
// the geometry's edges (kernel sizes, paddings, ragged image blocks and register tiles),
// the same bits on the AVX2 and AVX-512 paths and at any thread count, accumulation, and
// through the conv2d op against its double (im2col + GEMM) kernels.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "kernels/conv_dw.hpp"
#include "kernels/isa.hpp"
#include "tests/kernel_harness.hpp"
#include "tests/op_threads.hpp"
#include "tests/random_values.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

struct Case {
  Dim N, C, H, W, F, KH, KW, PH, PW;
};

ConvDwGeometry geometry(const Case& c) {
  ConvDwGeometry g;
  g.N = c.N;
  g.C = c.C;
  g.H = c.H;
  g.W = c.W;
  g.F = c.F;
  g.KH = c.KH;
  g.KW = c.KW;
  g.PH = c.PH;
  g.PW = c.PW;
  return g;
}

// dw in double, and the sum of the products' magnitudes (the scale of its rounding).
void reference(const ConvDwGeometry& g, const std::vector<float>& x, const std::vector<float>& dy,
               std::vector<double>& dw, std::vector<double>& scale) {
  const Dim oh = g.oh(), ow = g.ow(), ckk = g.C * g.KH * g.KW;
  dw.assign(static_cast<std::size_t>(g.F * ckk), 0.0);
  scale = dw;
  for (Dim f = 0; f < g.F; ++f)
    for (Dim c = 0; c < g.C; ++c)
      for (Dim i = 0; i < g.KH; ++i)
        for (Dim j = 0; j < g.KW; ++j) {
          double s = 0, a = 0;
          for (Dim n = 0; n < g.N; ++n)
            for (Dim r = 0; r < oh; ++r)
              for (Dim q = 0; q < ow; ++q) {
                const Dim h = r + i - g.PH, w = q + j - g.PW;
                if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
                const double p = static_cast<double>(dy[static_cast<std::size_t>(((n * g.F + f) * oh + r) * ow + q)]) *
                                 static_cast<double>(x[static_cast<std::size_t>(((n * g.C + c) * g.H + h) * g.W + w)]);
                s += p;
                a += std::fabs(p);
              }
          const std::size_t k = static_cast<std::size_t>(f * ckk + (c * g.KH + i) * g.KW + j);
          dw[k] = s;
          scale[k] = a;
        }
}

struct Data {
  std::vector<float> x, dy;
};

Data data(const ConvDwGeometry& g, std::uint64_t seed) {
  return {random_values<float>(static_cast<std::size_t>(g.N * g.C * g.H * g.W), seed),
          random_values<float>(static_cast<std::size_t>(g.N * g.F * g.oh() * g.ow()), seed + 1)};
}

std::vector<float> run_on(Isa isa, int parts, const ConvDwGeometry& g, const Data& d, bool accumulate = false,
                          const std::vector<float>& start = {}) {
  std::vector<float> dw = start;
  dw.resize(static_cast<std::size_t>(g.F * g.C * g.KH * g.KW), 0.0f);
  std::vector<float> ws(conv_dw_workspace(g, parts));
  conv_dw_on(isa, parts, g, d.x.data(), d.dy.data(), dw.data(), accumulate, ws.data());
  return dw;
}

std::vector<Isa> paths() {
  std::vector<Isa> p{Isa::generic};
  if (cpu_supports(Isa::avx2)) p.push_back(Isa::avx2);
  if (cpu_supports(Isa::avx512)) p.push_back(Isa::avx512);
  return p;
}

std::vector<Case> cases() {
  std::vector<Case> v;
  // Kernel sizes 1, 3, 5 and mixed, paddings 0 to 2, rows narrower than, equal to and
  // wider than 16 columns, F and C*KH*KW off the tiles' multiples, batches that leave a
  // ragged last block of images.
  for (Dim k : {1, 3, 5})
    for (Dim p : {0, 1, 2}) {
      if (p > 0 && k == 1 && p == 2) continue;
      v.push_back({3, 2, 7, 9, 5, k, k, p, p});
      v.push_back({2, 3, 6, 17, 7, k, k, p, std::min<Dim>(p, 1)});
    }
  v.push_back({9, 16, 14, 14, 32, 3, 3, 1, 1});   // W4's second convolution, 9 images
  v.push_back({5, 1, 28, 28, 16, 3, 3, 1, 1});    // W4's first
  v.push_back({1, 1, 3, 3, 1, 3, 3, 0, 0});       // one output: reads at dy's very end
  v.push_back({4, 2, 2, 2, 3, 1, 2, 0, 1});       // images smaller than a vector
  v.push_back({7, 5, 5, 33, 9, 2, 3, 2, 0});      // two full chunks and a tail
  v.push_back({6, 3, 10, 16, 13, 3, 1, 1, 0});    // rows of exactly 16 columns
  v.push_back({2, 4, 40, 8, 6, 5, 3, 2, 1});      // tall images: one image a block
  return v;
}

}  // namespace

TEST_CASE("conv_dw matches a double reference on every path", "[op][conv2d][conv_dw]") {
  std::uint64_t seed = 9000;
  for (const Case& c : cases()) {
    const ConvDwGeometry g = geometry(c);
    INFO("N " << c.N << " C " << c.C << " H " << c.H << " W " << c.W << " F " << c.F << " K " << c.KH << "x"
              << c.KW << " pad " << c.PH << "," << c.PW);
    const Data d = data(g, seed += 2);
    std::vector<double> ref, scale;
    reference(g, d.x, d.dy, ref, scale);
    for (Isa isa : paths()) {
      INFO("path " << isa_name(isa));
      const std::vector<float> dw = run_on(isa, 1, g, d);
      for (std::size_t k = 0; k < dw.size(); ++k) {
        INFO("dw[" << k << "] = " << dw[k] << ", reference " << ref[k]);
        REQUIRE(std::fabs(static_cast<double>(dw[k]) - ref[k]) <= 1e-6 * scale[k] + 1e-30);
      }
    }
  }
}

TEST_CASE("conv_dw gives the same bits on the AVX2 and AVX-512 paths and at any thread count",
          "[op][conv2d][conv_dw][isa][threads]") {
  std::uint64_t seed = 9500;
  for (const Case& c : cases()) {
    const ConvDwGeometry g = geometry(c);
    INFO("N " << c.N << " C " << c.C << " H " << c.H << " W " << c.W << " F " << c.F << " K " << c.KH << "x"
              << c.KW << " pad " << c.PH << "," << c.PW);
    const Data d = data(g, seed += 2);
    for (Isa isa : paths()) {
      INFO("path " << isa_name(isa));
      const std::vector<float> one = run_on(isa, 1, g, d);
      for (int parts : {2, 3, 7}) {
        INFO(parts << " parts");
        CHECK(same_bits(one, run_on(isa, parts, g, d)));
      }
    }
    if (cpu_supports(Isa::avx512)) CHECK(same_bits(run_on(Isa::avx2, 1, g, d), run_on(Isa::avx512, 1, g, d)));
  }
}

TEST_CASE("conv_dw adds onto dw when it accumulates", "[op][conv2d][conv_dw]") {
  const ConvDwGeometry g = geometry({5, 3, 9, 11, 6, 3, 3, 1, 1});
  const Data d = data(g, 9900);
  const std::vector<float> start = random_values<float>(static_cast<std::size_t>(g.F * g.C * 9), 9902);
  for (Isa isa : paths()) {
    INFO("path " << isa_name(isa));
    const std::vector<float> alone = run_on(isa, 1, g, d), added = run_on(isa, 2, g, d, true, start);
    std::vector<float> expected(start.size());
    for (std::size_t k = 0; k < start.size(); ++k) expected[k] = start[k] + alone[k];
    CHECK(same_bits(added, expected));
  }
}

TEST_CASE("conv2d's float weight gradient through the op matches its double kernels", "[op][conv2d][conv_dw]") {
  // Stride 1 float convolutions take conv_dw where it is preferred (the AVX-512 path),
  // double ones im2col + GEMM. With and without bias, accumulating and not, one and two
  // threads (the same bits, with conv_dw).
  for (const char* op : {"conv2d", "conv2d_nobias"}) {
    const bool bias = std::string(op) == "conv2d";
    for (const Case& c : {Case{6, 3, 9, 10, 5, 3, 3, 1, 1}, Case{3, 2, 7, 20, 4, 5, 3, 2, 0}}) {
      INFO(op << " N " << c.N << " K " << c.KH << "x" << c.KW);
      const Attrs attrs{{"stride", std::vector<std::int64_t>{1, 1}},
                        {"padding", std::vector<std::int64_t>{c.PH, c.PW}}};
      std::vector<Shape> shapes{{c.N, c.C, c.H, c.W}, {c.F, c.C, c.KH, c.KW}};
      if (bias) shapes.push_back({c.F});
      std::vector<float> dw_first;
      for (int threads : {1, 2})
        for (bool accumulate : {false, true}) {
          INFO(threads << " threads, accumulate " << accumulate);
          const OpThreads t(threads);
          KernelCall<float> f32(op, shapes, attrs);
          KernelCall<double> f64(op, shapes, attrs);
          std::vector<std::vector<float>> in32, out32 = f32.fresh_outputs(), d_in32;
          std::vector<std::vector<double>> in64, out64 = f64.fresh_outputs(), d_in64;
          for (std::size_t i = 0; i < shapes.size(); ++i) {
            const std::size_t n = static_cast<std::size_t>(numel(shapes[i]));
            in32.push_back(random_values<float>(n, 100 + i));
            in64.emplace_back(in32.back().begin(), in32.back().end());
            d_in32.push_back(random_values<float>(n, 200 + i));
            d_in64.emplace_back(d_in32.back().begin(), d_in32.back().end());
          }
          const std::vector<float> dy32 = random_values<float>(static_cast<std::size_t>(numel(f32.out_shapes[0])), 300);
          std::vector<std::vector<float>> d_out32{dy32};
          std::vector<std::vector<double>> d_out64{std::vector<double>(dy32.begin(), dy32.end())};
          const std::vector<char> acc(shapes.size(), accumulate ? 1 : 0);
          f32.forward(pointers(in32), pointers(out32));
          f64.forward(pointers(in64), pointers(out64));
          std::vector<float*> g32 = pointers(d_in32);
          std::vector<double*> g64 = pointers(d_in64);
          g32[0] = nullptr;  // dw (and db) alone
          g64[0] = nullptr;
          f32.backward(pointers(in32), pointers(out32), pointers(d_out32), g32, acc);
          f64.backward(pointers(in64), pointers(out64), pointers(d_out64), g64, acc);
          for (std::size_t i = 1; i < shapes.size(); ++i)
            for (std::size_t k = 0; k < d_in32[i].size(); ++k) {
              INFO("gradient " << i << " [" << k << "]: " << d_in32[i][k] << " vs " << d_in64[i][k]);
              REQUIRE(std::fabs(static_cast<double>(d_in32[i][k]) - d_in64[i][k]) <=
                      2e-5 * (1 + std::fabs(d_in64[i][k])));
            }
          if (accumulate) continue;
          if (threads == 1)
            dw_first = d_in32[1];
          else if (conv_dw_preferred())  // elsewhere im2col + GEMM, per thread count
            CHECK(same_bits(dw_first, d_in32[1]));
        }
    }
  }
}
