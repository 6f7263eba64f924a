// small_sgemm (kernels/small_gemm.cpp) and its portable fallback against a double-precision
// naive product: random shapes with M, N, K in 1..70, every tile edge up to 17 x 33, the
// benchmark workloads' shapes (W1, W3, W4), K across the 256-row packing blocks, K == 0,
// all four transpose combinations, alpha / beta (beta 0 over NaN garbage: C must not be
// read; beta 1 and others: accumulation). Also: nothing is written past C, the results are
// bit-for-bit deterministic and independent of the operands' alignment, and gemm<float>
// (kernels/blas.cpp) routes these shapes to it.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <vector>

#include "core/random.hpp"
#include "kernels/blas.hpp"
#include "kernels/parallel.hpp"
#include "kernels/small_gemm.hpp"
#include "tests/op_threads.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using namespace plangrad::testing;

namespace {

using GemmFn = void (*)(bool, bool, Dim, Dim, Dim, float, const float*, const float*, float,
                        float*);

struct Operands {
  std::vector<float> A, B, C;  // C holds M*N values plus kGuard sentinels after them
};
constexpr std::size_t kGuard = 17;
constexpr float kSentinel = 12345.0f;

Operands make_operands(Dim M, Dim N, Dim K, float beta, Rng& rng) {
  const auto m = static_cast<std::size_t>(M), n = static_cast<std::size_t>(N),
             k = static_cast<std::size_t>(K);
  Operands o;
  o.A.resize(m * k);  // exact sizes: ASan reports any read past an operand's end
  o.B.resize(k * n);
  o.C.assign(m * n + kGuard, kSentinel);
  for (float& v : o.A) v = static_cast<float>(rng.uniform(-1, 1));
  for (float& v : o.B) v = static_cast<float>(rng.uniform(-1, 1));
  for (std::size_t i = 0; i < m * n; ++i)
    o.C[i] = beta == 0.0f ? std::numeric_limits<float>::quiet_NaN()
                          : static_cast<float>(rng.uniform(-1, 1));
  return o;
}

// Runs fn on fresh random operands and compares with the product in double. The bound is
// the classic one for a float dot product of length K: (K + 2) eps times the sum of the
// terms' magnitudes (|alpha| sum |a b| + |beta c|).
void check(GemmFn fn, bool ta, bool tb, Dim M, Dim N, Dim K, float alpha, float beta,
           std::uint64_t seed) {
  Rng rng(seed);
  Operands o = make_operands(M, N, K, beta, rng);
  const auto m = static_cast<std::size_t>(M), n = static_cast<std::size_t>(N),
             k = static_cast<std::size_t>(K);
  auto a = [&](std::size_t i, std::size_t p) { return ta ? o.A[p * m + i] : o.A[i * k + p]; };
  auto b = [&](std::size_t p, std::size_t j) { return tb ? o.B[j * k + p] : o.B[p * n + j]; };
  std::vector<double> want(m * n), mag(m * n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double sum = 0, abs_sum = 0;
      for (std::size_t p = 0; p < k; ++p) {
        const double t = double(a(i, p)) * double(b(p, j));
        sum += t;
        abs_sum += std::fabs(t);
      }
      const double c = beta == 0.0f ? 0.0 : double(beta) * double(o.C[i * n + j]);
      want[i * n + j] = double(alpha) * sum + c;
      mag[i * n + j] = std::fabs(double(alpha)) * abs_sum + std::fabs(c);
    }
  fn(ta, tb, M, N, K, alpha, o.A.data(), o.B.data(), beta, o.C.data());
  const double eps = double(FLT_EPSILON);
  for (std::size_t i = 0; i < m * n; ++i) {
    INFO("ta " << ta << " tb " << tb << " M " << M << " N " << N << " K " << K << " alpha "
               << alpha << " beta " << beta << " element " << i);
    REQUIRE(std::isfinite(double(o.C[i])));
    REQUIRE(std::fabs(double(o.C[i]) - want[i]) <= double(k + 2) * eps * mag[i] + 1e-30);
  }
  for (std::size_t g = 0; g < kGuard; ++g) REQUIRE(o.C[m * n + g] == kSentinel);
}

const float kAlphaBeta[][2] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {-0.5f, 0.0f}, {2.0f, 0.25f}};

void check_combos(GemmFn fn, Dim M, Dim N, Dim K, std::uint64_t& seed) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (const auto& ab : kAlphaBeta) check(fn, ta, tb, M, N, K, ab[0], ab[1], seed++);
}

// The GEMMs of the benchmark workloads (bench/workloads.cpp), with their transposes.
struct WorkloadShape {
  bool ta, tb;
  Dim M, N, K;
};
const WorkloadShape kWorkloadShapes[] = {
    // W1: MLP 2-25-25-25-2, batch 100
    {false, false, 100, 25, 2}, {false, false, 100, 25, 25}, {false, false, 100, 2, 25},
    {false, true, 100, 25, 25}, {false, true, 100, 25, 2}, {true, false, 2, 25, 100},
    {true, false, 25, 25, 100}, {true, false, 25, 2, 100},
    // W3: MLP 784-256-128-10, batch 128
    {false, false, 128, 256, 784}, {false, false, 128, 128, 256}, {false, false, 128, 10, 128},
    {false, true, 128, 256, 128}, {false, true, 128, 128, 10}, {true, false, 784, 256, 128},
    {true, false, 256, 128, 128}, {true, false, 128, 10, 128},
    // W4: MNIST CNN, per image, and its dense layer
    {false, false, 16, 784, 9}, {false, true, 16, 9, 784}, {false, false, 32, 196, 144},
    {false, true, 32, 144, 196}, {true, false, 144, 196, 32}, {false, false, 128, 10, 1568},
    {true, false, 1568, 10, 128}, {false, true, 128, 1568, 10}};

}  // namespace

// check_combos on `count` random shapes with M, N and K in 1..70.
void check_random_shapes(GemmFn fn, std::uint64_t shape_seed, int count, std::uint64_t& seed) {
  Rng shapes(shape_seed);
  for (int t = 0; t < count; ++t) {
    const Dim M = 1 + static_cast<Dim>(shapes.below(70)), N = 1 + static_cast<Dim>(shapes.below(70)),
              K = 1 + static_cast<Dim>(shapes.below(70));
    check_combos(fn, M, N, K, seed);
  }
}

TEST_CASE("small_sgemm matches a double product on random shapes up to 70", "[small_gemm]") {
  std::uint64_t seed = 1;
  check_random_shapes(&small_sgemm, 2024, 60, seed);
}

TEST_CASE("small_sgemm handles every tile edge", "[small_gemm]") {
  // Rows 1..17 (tiles of 8), columns 1..33 (tiles of 32 in two vectors of 16).
  std::uint64_t seed = 100000;
  for (Dim M = 1; M <= 17; ++M)
    for (Dim N = 1; N <= 33; ++N)
      for (bool ta : {false, true})
        for (bool tb : {false, true}) check(&small_sgemm, ta, tb, M, N, 3, 1.0f, 0.0f, seed++);
  // K across the transposed-B packing blocks (256 rows), and K == 0 (C = beta C).
  for (Dim K : {255, 256, 257, 513}) check_combos(&small_sgemm, 9, 35, K, seed);
  for (const auto& ab : kAlphaBeta)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) check(&small_sgemm, ta, tb, 5, 19, 0, ab[0], ab[1], seed++);
}

TEST_CASE("small_sgemm matches a double product on the workloads' shapes", "[small_gemm]") {
  std::uint64_t seed = 200000;
  for (const WorkloadShape& s : kWorkloadShapes)
    for (const auto& ab : {kAlphaBeta[0], kAlphaBeta[1]})
      check(&small_sgemm, s.ta, s.tb, s.M, s.N, s.K, ab[0], ab[1], seed++);
}

TEST_CASE("the portable small GEMM matches a double product", "[small_gemm]") {
  std::uint64_t seed = 300000;
  check_random_shapes(&small_sgemm_portable, 7, 20, seed);
  check_combos(&small_sgemm_portable, 3, 130, 5, seed);  // more columns than its block of 64
  check_combos(&small_sgemm_portable, 4, 6, 0, seed);
}

TEST_CASE("small_sgemm is deterministic and independent of alignment", "[small_gemm]") {
  Rng rng(99);
  for (const WorkloadShape& s : {kWorkloadShapes[1], kWorkloadShapes[3], kWorkloadShapes[6],
                                 kWorkloadShapes[19], WorkloadShape{true, true, 37, 45, 300}})
    for (float beta : {0.0f, 1.0f}) {
      const auto mk = static_cast<std::size_t>(s.M * s.K), kn = static_cast<std::size_t>(s.K * s.N),
                 mn = static_cast<std::size_t>(s.M * s.N);
      Operands o = make_operands(s.M, s.N, s.K, 1.0f, rng);  // C: finite start values
      std::vector<float> c1(o.C.begin(), o.C.begin() + static_cast<std::ptrdiff_t>(mn)), c2 = c1;
      small_sgemm(s.ta, s.tb, s.M, s.N, s.K, 0.75f, o.A.data(), o.B.data(), beta, c1.data());
      // The same values at other offsets from a 64-byte boundary (1..3 floats further).
      for (std::size_t shift = 0; shift < 4; ++shift) {
        std::vector<float> a(mk + shift), b(kn + 2 * shift), c(mn + 3 * shift);
        std::copy(o.A.begin(), o.A.end(), a.begin() + static_cast<std::ptrdiff_t>(shift));
        std::copy(o.B.begin(), o.B.end(), b.begin() + static_cast<std::ptrdiff_t>(2 * shift));
        std::copy(c2.begin(), c2.end(), c.begin() + static_cast<std::ptrdiff_t>(3 * shift));
        small_sgemm(s.ta, s.tb, s.M, s.N, s.K, 0.75f, a.data() + shift, b.data() + 2 * shift,
                    beta, c.data() + 3 * shift);
        INFO("ta " << s.ta << " tb " << s.tb << " M " << s.M << " beta " << beta << " shift "
                   << shift);
        REQUIRE(same_bits(c.data() + 3 * shift, c1.data(), mn));
      }
    }
}

TEST_CASE("gemm<float> sends small products to small_sgemm", "[small_gemm]") {
  Rng rng(5);
  for (const WorkloadShape& s : kWorkloadShapes) {
    Operands o = make_operands(s.M, s.N, s.K, 0.0f, rng);
    const std::size_t mn = static_cast<std::size_t>(s.M * s.N);
    std::vector<float> c1(mn), c2(mn);
    gemm<float>(s.ta, s.tb, s.M, s.N, s.K, 1.0f, o.A.data(), o.B.data(), 0.0f, c1.data());
    small_sgemm(s.ta, s.tb, s.M, s.N, s.K, 1.0f, o.A.data(), o.B.data(), 0.0f, c2.data());
    INFO("ta " << s.ta << " tb " << s.tb << " M " << s.M << " N " << s.N << " K " << s.K);
    REQUIRE(same_bits(c1, c2));
  }
}

TEST_CASE("threaded small_sgemm gives the same bits as one thread", "[small_gemm][threads]") {
  struct Shape3 {
    Dim M, N, K;
  };
  // Above the threading threshold (2^21 multiply-adds) and wider than one column block;
  // N not a multiple of 32 so the last block is partial.
  const Shape3 shapes[] = {{128, 256, 784}, {784, 256, 128}, {128, 784, 256}, {97, 300, 111}};
  Rng rng(11);
  for (const Shape3& s : shapes)
    for (const bool ta : {false, true})
      for (const bool tb : {false, true})
        for (const float beta : {0.0f, 0.5f}) {
          INFO("ta " << ta << " tb " << tb << " M " << s.M << " N " << s.N << " K " << s.K << " beta " << beta);
          Operands o = make_operands(s.M, s.N, s.K, 1.0f, rng);
          const std::size_t mn = static_cast<std::size_t>(s.M * s.N);
          std::vector<float> one(o.C.begin(), o.C.begin() + static_cast<std::ptrdiff_t>(mn));
          {
            const OpThreads t(1);
            small_sgemm(ta, tb, s.M, s.N, s.K, 1.25f, o.A.data(), o.B.data(), beta, one.data());
          }
          for (const int threads : {2, 3}) {
            std::vector<float> many(o.C.begin(), o.C.begin() + static_cast<std::ptrdiff_t>(mn));
            const OpThreads t(threads);
            REQUIRE(op_threads() == threads);
            small_sgemm(ta, tb, s.M, s.N, s.K, 1.25f, o.A.data(), o.B.data(), beta, many.data());
            REQUIRE(same_bits(many, one));
          }
        }
  // And the threaded product is right, not just repeatable.
  const OpThreads t(2);
  check(small_sgemm, false, true, 128, 256, 784, 1.0f, 0.0f, 21);
  check(small_sgemm, true, false, 784, 256, 128, 1.0f, 1.0f, 22);
}

TEST_CASE("a row vector times a matrix gives the row tile's bits", "[small_gemm]") {
  // M == 1 with B not transposed runs its own kernel (8 vectors per pass over k); each
  // element sums the same terms in the same order as a row of a taller product, whose rows
  // do not interact. Also checked against the double product, and past N with sentinels.
  Rng rng(31);
  for (const Dim N : {Dim(13), Dim(16), Dim(100), Dim(128), Dim(129), Dim(256), Dim(300)})
    for (const Dim K : {Dim(1), Dim(7), Dim(784)})
      for (const float beta : {0.0f, 0.5f}) {
        INFO("N " << N << " K " << K << " beta " << beta);
        Operands o = make_operands(2, N, K, beta, rng);
        const auto n = static_cast<std::size_t>(N);
        std::vector<float> one(o.C.begin(), o.C.begin() + static_cast<std::ptrdiff_t>(n));
        one.resize(n + kGuard, kSentinel);
        small_sgemm(false, false, 1, N, K, 1.25f, o.A.data(), o.B.data(), beta, one.data());
        small_sgemm(false, false, 2, N, K, 1.25f, o.A.data(), o.B.data(), beta, o.C.data());
        REQUIRE(same_bits(one.data(), o.C.data(), n));
        for (std::size_t g = n; g < n + kGuard; ++g) REQUIRE(one[g] == kSentinel);
        for (const bool ta : {false, true}) check(&small_sgemm, ta, false, 1, N, K, 0.5f, beta, 400 + static_cast<std::uint64_t>(N + K));
      }
}

TEST_CASE("small_sgemm's AVX2 and AVX-512 kernels give the same bits", "[small_gemm][isa]") {
  // kernels/small_gemm_tiles.hpp: each element summed in the same order with the same FMAs
  // on both paths, whatever their tile sizes. Every tile edge, K across the packing blocks,
  // both narrow kinds, the row vector, a threaded product; each path is also checked
  // against the double product.
  if (!cpu_supports(Isa::avx2)) {
    WARN("this CPU has no AVX2: nothing to compare");
    return;
  }
  struct Case {
    bool ta, tb;
    Dim M, N, K;
  };
  std::vector<Case> cases;
  for (Dim M : {1, 2, 5, 7, 8, 9, 17})
    for (Dim N : {1, 3, 12, 13, 16, 17, 31, 33, 64, 129})
      for (bool ta : {false, true})
        for (bool tb : {false, true}) cases.push_back({ta, tb, M, N, 19});
  for (Dim K : {1, 255, 257, 600}) cases.push_back({false, true, 9, 35, K});
  for (const WorkloadShape& s : kWorkloadShapes) cases.push_back({s.ta, s.tb, s.M, s.N, s.K});
  const bool avx512 = cpu_supports(Isa::avx512);
  Rng rng(77);
  for (const Case& c : cases)
    for (const float beta : {0.0f, 0.75f}) {
      INFO("ta " << c.ta << " tb " << c.tb << " M " << c.M << " N " << c.N << " K " << c.K << " beta " << beta);
      Operands o = make_operands(c.M, c.N, c.K, 1.0f, rng);
      const std::size_t mn = static_cast<std::size_t>(c.M * c.N);
      std::vector<float> y2(o.C.begin(), o.C.begin() + static_cast<std::ptrdiff_t>(mn)), y512 = y2;
      small_sgemm_on(Isa::avx2, c.ta, c.tb, c.M, c.N, c.K, 1.25f, o.A.data(), o.B.data(), beta, y2.data());
      if (!avx512) continue;
      small_sgemm_on(Isa::avx512, c.ta, c.tb, c.M, c.N, c.K, 1.25f, o.A.data(), o.B.data(), beta, y512.data());
      REQUIRE(same_bits(y2, y512));
    }
  std::uint64_t seed = 500000;
  check_random_shapes([](bool ta, bool tb, Dim M, Dim N, Dim K, float alpha, const float* A, const float* B, float beta,
                         float* C) { small_sgemm_on(Isa::avx2, ta, tb, M, N, K, alpha, A, B, beta, C); },
                      9, 20, seed);
  const OpThreads t(2);
  std::vector<float> y2(128 * 300), y512(128 * 300);
  Operands o = make_operands(128, 300, 784, 0.0f, rng);
  small_sgemm_on(Isa::avx2, false, false, 128, 300, 784, 1.0f, o.A.data(), o.B.data(), 0.0f, y2.data());
  if (avx512) {
    small_sgemm_on(Isa::avx512, false, false, 128, 300, 784, 1.0f, o.A.data(), o.B.data(), 0.0f, y512.data());
    CHECK(same_bits(y2, y512));
  }
}
