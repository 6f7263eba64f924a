// gemm (kernels/blas.hpp) against a naive triple loop, for every transpose combination, the
// matrix-vector shortcuts (M == 1, N == 1), K == 0, beta == 0 over NaN garbage (C must not
// be read) and beta != 0 (accumulation), in float and double.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "core/random.hpp"
#include "kernels/blas.hpp"

using namespace plangrad;

namespace {

template <class T>
void check_gemm(bool ta, bool tb, Dim M, Dim N, Dim K, T alpha, T beta, std::uint64_t seed) {
  Rng rng(seed);
  const auto m = static_cast<std::size_t>(M), n = static_cast<std::size_t>(N), k = static_cast<std::size_t>(K);
  std::vector<T> A(m * k), B(k * n), C(m * n);
  for (T& v : A) v = static_cast<T>(rng.uniform(-1, 1));
  for (T& v : B) v = static_cast<T>(rng.uniform(-1, 1));
  for (T& v : C) v = beta == T(0) ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(rng.uniform(-1, 1));
  // A is stored [K, M] when transposed, B [N, K].
  auto a = [&](std::size_t i, std::size_t p) { return ta ? A[p * m + i] : A[i * k + p]; };
  auto b = [&](std::size_t p, std::size_t j) { return tb ? B[j * k + p] : B[p * n + j]; };
  std::vector<double> want(m * n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double sum = 0;
      for (std::size_t p = 0; p < k; ++p) sum += double(a(i, p)) * double(b(p, j));
      want[i * n + j] = double(alpha) * sum + (beta == T(0) ? 0.0 : double(beta) * double(C[i * n + j]));
    }
  gemm<T>(ta, tb, M, N, K, alpha, A.data(), B.data(), beta, C.data());
  const double tol = std::is_same<T, float>::value ? 1e-5 : 1e-12;
  for (std::size_t i = 0; i < m * n; ++i) {
    INFO("ta " << ta << " tb " << tb << " M " << M << " N " << N << " K " << K << " beta " << double(beta)
               << " element " << i);
    REQUIRE(std::isfinite(double(C[i])));
    REQUIRE(double(C[i]) == Approx(want[i]).margin(tol * (1 + double(k))));
  }
}

template <class T>
void check_all() {
  const Dim shapes[][3] = {{1, 7, 5}, {6, 1, 5}, {1, 1, 9}, {4, 3, 2}, {1, 300, 257}, {129, 77, 1}, {3, 4, 0}};
  std::uint64_t seed = 1;
  for (const auto& s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (T beta : {T(0), T(0.5)}) check_gemm<T>(ta, tb, s[0], s[1], s[2], T(1.5), beta, seed++);
}

}  // namespace

TEST_CASE("gemm matches a naive product for every transpose, shape and beta (float)", "[op][blas]") {
  check_all<float>();
}

TEST_CASE("gemm matches a naive product for every transpose, shape and beta (double)", "[op][blas]") {
  check_all<double>();
}
