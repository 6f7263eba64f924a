// small_sgemm's register-tiled kernels (kernels/small_gemm.hpp), written once over a
// vector type V of 16 floats and compiled by each ISA's file: small_gemm_avx512.cpp (V is
// one zmm register) and small_gemm_avx2.cpp (V is two ymm registers). Every function here
// carries PLANGRAD_GEMM_FN, the file's target attribute, and is a template on V, whose type
// is the file's own: nothing here is shared between the two compilations.
//
// Both give the same bits: each element of C is summed in the same order with the same
// fused multiply-adds, whatever the tile sizes (V's constants), and V::lane_sum adds the
// 16 lanes in one fixed tree. Three tile kinds: rows of C by 16 or 32 columns (vectors
// along N); for narrow C (N <= 12), dot products (vectors along K, A not transposed) or
// columns of C (vectors along M, A transposed).
//
// V provides: Reg, Mask; zero(), set1(x), lanes(n) (the first n lanes, none for n <= 0,
// all 16 for n >= 16), load(m, p) (masked: lanes off read nothing and are 0), store(m, p,
// x), store_all(p, x), mul(a, b), fmadd(a, b, c) (a * b + c, rounded once), lane_sum(x);
// and the tile sizes kMaxRows, kTileVecs (1 or 2), kRowVecs, kDotRows, kDotCols,
// kColVecs, kColCols (register counts: 32 zmm, 16 ymm).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

#include "kernels/parallel.hpp"

#ifndef PLANGRAD_GEMM_FN
#error "define PLANGRAD_GEMM_FN (the target attribute) before including kernels/small_gemm_tiles.hpp"
#endif

namespace plangrad::small_gemm_tiles {

using Idx = std::ptrdiff_t;

// Wide C is worked in blocks of kBlockCols columns, each on its own: a block's results do
// not depend on which thread computes it, so splitting the blocks between threads gives
// the same bits as one thread.
constexpr Idx kBlockCols = 32;
// The stack buffer for op(B), kPackRows x kBlockCols floats (32 KiB): a transposed op(B) is
// copied into it block by block (column_blocks); a narrow op(B) of at most that many
// elements is copied whole, column by column, for the dot tiles (gemm). kPackRows is also
// the k-block of a packed product: C gets alpha * (the block's sum) + beta * C per block.
constexpr Idx kPackRows = 256;
// Narrow C (N <= kNarrowCols): a row tile would leave most of its 16 lanes idle, so the
// vectors run along another dimension instead.
constexpr Idx kNarrowCols = 12;
// GEMMs of at least this many multiply-adds are split between threads (below it the
// hand-over costs more than it saves).
constexpr Idx kThreadedWork = Idx(1) << 21;

// Register tile: MR rows of C by NV * 16 columns (the last vector masked), summed over kc
// values of k in MR * NV accumulators, then C = alpha * acc (+ beta * C).
//   op(A)[r, k] = a[k * lda + r] when TransA (A stored [K,M], lda = M), else a[r * lda + k];
//   op(B)[k, 16 v + l] = b[k * ldb + 16 v + l] (row-major, B itself or the packed copy).
// Loads are masked to the tile's columns, so nothing past an operand's end is read.
template <class V, int MR, int NV, bool TransA>
PLANGRAD_GEMM_FN void tile(Idx kc, const float* a, Idx lda, const float* b, Idx ldb, typename V::Mask m0,
                           typename V::Mask m1, float alpha, float beta, float* c, Idx ldc) {
  using Reg = typename V::Reg;
  Reg acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
  const float* arow[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) arow[r] = TransA ? a + r : a + r * lda;
  for (Idx k = 0; k < kc; ++k) {
    Reg bv[NV];
    bv[0] = V::load(m0, b + k * ldb);
    if constexpr (NV > 1) bv[1] = V::load(m1, b + k * ldb + 16);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const Reg av = V::set1(TransA ? arow[r][k * lda] : arow[r][k]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = V::fmadd(av, bv[v], acc[r][v]);
    }
  }
  const Reg va = V::set1(alpha), vb = V::set1(beta);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      const typename V::Mask m = v == 0 ? m0 : m1;
      float* cp = c + r * ldc + 16 * v;
      Reg x = V::mul(acc[r][v], va);
      if (beta != 0.0f) x = V::fmadd(vb, V::load(m, cp), x);
      V::store(m, cp, x);
    }
}

template <class V, bool TransA>
using TileFn = void (*)(Idx, const float*, Idx, const float*, Idx, typename V::Mask, typename V::Mask,
                        float, float, float*, Idx);

// tile<MR, NV> for MR = 1 .. V::kMaxRows.
template <class V, int NV, bool TransA, int... R>
constexpr std::array<TileFn<V, TransA>, sizeof...(R)> tiles_by_rows(std::integer_sequence<int, R...>) {
  return {&tile<V, R + 1, NV, TransA>...};
}

template <class V, bool TransA>
PLANGRAD_GEMM_FN TileFn<V, TransA> pick_tile(int mr, int nv) {
  constexpr auto rows = std::make_integer_sequence<int, V::kMaxRows>{};
  static constexpr auto one = tiles_by_rows<V, 1, TransA>(rows);
  const auto r = static_cast<std::size_t>(mr - 1);
  if constexpr (V::kTileVecs == 1) {
    return one[r];
  } else {
    static constexpr auto two = tiles_by_rows<V, 2, TransA>(rows);
    return nv == 1 ? one[r] : two[r];
  }
}

// The rows of C, V::kMaxRows at a time, for one block of columns [j0, j0 + nr) and one
// block of k [k0, k0 + kc); b points at op(B)[k0, j0] with row stride ldb.
template <class V, bool TransA>
PLANGRAD_GEMM_FN void row_tiles(Idx M, Idx K, Idx j0, Idx nr, Idx k0, Idx kc, float alpha, const float* A,
                                const float* b, Idx ldb, float beta, float* C, Idx N) {
  constexpr Idx kSub = 16 * V::kTileVecs;  // the columns one tile covers
  const Idx lda = TransA ? M : K;
  for (Idx js = 0; js < nr; js += kSub) {
    const Idx w = std::min(kSub, nr - js);
    const int nv = w > 16 ? 2 : 1;
    const typename V::Mask m0 = V::lanes(w), m1 = V::lanes(w - 16);
    const TileFn<V, TransA> full = pick_tile<V, TransA>(V::kMaxRows, nv);
    for (Idx i0 = 0; i0 < M; i0 += V::kMaxRows) {
      const Idx mr = std::min<Idx>(V::kMaxRows, M - i0);
      const TileFn<V, TransA> fn = mr == V::kMaxRows ? full : pick_tile<V, TransA>(static_cast<int>(mr), nv);
      const float* a = TransA ? A + k0 * M + i0 : A + i0 * K + k0;
      fn(kc, a, lda, b + js, ldb, m0, m1, alpha, beta, C + i0 * N + j0 + js, N);
    }
  }
}

// One row of C (M == 1; a is contiguous whether A is transposed or not) times B stored
// [K, N]: a row tile would keep only a few accumulators, and each FMA would wait on the
// previous one. Here up to V::kRowVecs vectors per pass over k: that many independent
// chains. Each element still sums k in order in one accumulator, then alpha and beta as
// in tile: the same bits as the row tile.
template <class V, int NV>
PLANGRAD_GEMM_FN void row_vector_block(Idx n, Idx K, float alpha, const float* a, const float* b, Idx ldb,
                                       float beta, float* c) {
  using Reg = typename V::Reg;
  const Reg va = V::set1(alpha), vb = V::set1(beta);
  typename V::Mask m[NV];
  Reg acc[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    m[v] = V::lanes(n - 16 * v);
    acc[v] = V::zero();
  }
  for (Idx k = 0; k < K; ++k) {
    const Reg av = V::set1(a[k]);
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)  // masked past n: no load, no fault
      acc[v] = V::fmadd(av, V::load(m[v], b + k * ldb + 16 * v), acc[v]);
  }
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    float* cp = c + 16 * v;
    Reg x = V::mul(acc[v], va);
    if (beta != 0.0f) x = V::fmadd(vb, V::load(m[v], cp), x);
    V::store(m[v], cp, x);
  }
}

using RowVectorFn = void (*)(Idx, Idx, float, const float*, const float*, Idx, float, float*);

template <class V, int... B>
constexpr std::array<RowVectorFn, sizeof...(B)> row_vector_blocks(std::integer_sequence<int, B...>) {
  return {&row_vector_block<V, B + 1>...};
}

template <class V>
PLANGRAD_GEMM_FN void row_vector(Idx N, Idx K, float alpha, const float* a, const float* B, float beta,
                                 float* c) {
  constexpr Idx kCols = 16 * V::kRowVecs;
  static constexpr auto blocks = row_vector_blocks<V>(std::make_integer_sequence<int, V::kRowVecs>{});
  for (Idx j0 = 0; j0 < N; j0 += kCols) {
    const Idx n = std::min(kCols, N - j0);
    blocks[static_cast<std::size_t>((n + 15) / 16 - 1)](n, K, alpha, a, B + j0, N, beta, c + j0);
  }
}

// Dot tile, for op(A) with contiguous rows (A not transposed): C[r, c] for r < MR, c < NC
// is the dot product of a[r * lda + 0..K) and bt[c * ldbt + 0..K) (op(B)'s column c,
// contiguous), summed in 16 lanes (lane l: the k = l mod 16, in order) and then across them.
template <class V, int MR, int NC>
PLANGRAD_GEMM_FN void dot_tile(Idx K, const float* a, Idx lda, const float* bt, Idx ldbt, float alpha,
                               float beta, float* c, Idx ldc) {
  using Reg = typename V::Reg;
  Reg acc[MR][NC];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) acc[r][j] = V::zero();
  for (Idx k = 0; k < K; k += 16) {
    const typename V::Mask m = V::lanes(K - k);
    Reg bv[NC];
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) bv[j] = V::load(m, bt + j * ldbt + k);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const Reg av = V::load(m, a + r * lda + k);
#pragma GCC unroll 16
      for (int j = 0; j < NC; ++j) acc[r][j] = V::fmadd(av, bv[j], acc[r][j]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) {
      const float x = alpha * V::lane_sum(acc[r][j]);
      float* cp = c + r * ldc + j;
      *cp = beta == 0.0f ? x : x + beta * *cp;
    }
}

using DotFn = void (*)(Idx, const float*, Idx, const float*, Idx, float, float, float*, Idx);

template <class V, int MR, int... C>
constexpr std::array<DotFn, sizeof...(C)> dot_tiles_by_cols(std::integer_sequence<int, C...>) {
  return {&dot_tile<V, MR, C + 1>...};
}

// [MR - 1][NC - 1]: dot_tile<MR, NC>.
template <class V, int... R>
constexpr std::array<std::array<DotFn, V::kDotCols>, sizeof...(R)> dot_tiles(std::integer_sequence<int, R...>) {
  return {dot_tiles_by_cols<V, R + 1>(std::make_integer_sequence<int, V::kDotCols>{})...};
}

// C = alpha op(A) op(B) + beta C with A stored [M,K]; bt holds op(B)'s columns, each
// contiguous with stride ldbt (B itself when trans_b, else a packed copy).
template <class V>
PLANGRAD_GEMM_FN void dot_gemm(Idx M, Idx N, Idx K, float alpha, const float* A, const float* bt, Idx ldbt,
                               float beta, float* C) {
  static constexpr auto fns = dot_tiles<V>(std::make_integer_sequence<int, V::kDotRows>{});
  for (Idx i0 = 0; i0 < M; i0 += V::kDotRows) {
    const Idx mr = std::min<Idx>(V::kDotRows, M - i0);
    for (Idx j0 = 0; j0 < N; j0 += V::kDotCols) {
      const Idx nc = std::min<Idx>(V::kDotCols, N - j0);
      fns[static_cast<std::size_t>(mr - 1)][static_cast<std::size_t>(nc - 1)](
          K, A + i0 * K, K, bt + j0 * ldbt, ldbt, alpha, beta, C + i0 * N + j0, N);
    }
  }
}

// Column tile, for A stored [K,M] (op(A)'s columns contiguous): C[16 v + l, c] for
// v < MV, c < NC, rows past `rows` masked off; per k, MV vectors of op(A)[., k] times
// op(B)[k, c] broadcast. C's elements are strided (one row apart), so each vector goes
// through a stack array and is written element by element.
template <class V, int MV, int NC, bool TransB>
PLANGRAD_GEMM_FN void col_tile(Idx K, const float* a, Idx lda, Idx rows, const float* b, Idx ldb, float alpha,
                               float beta, float* c, Idx ldc) {
  using Reg = typename V::Reg;
  typename V::Mask mask[MV];
#pragma GCC unroll 16
  for (int v = 0; v < MV; ++v) mask[v] = V::lanes(rows - 16 * v);
  Reg acc[MV][NC];
#pragma GCC unroll 16
  for (int v = 0; v < MV; ++v)
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) acc[v][j] = V::zero();
  for (Idx k = 0; k < K; ++k) {
    Reg av[MV];
#pragma GCC unroll 16
    for (int v = 0; v < MV; ++v) av[v] = V::load(mask[v], a + k * lda + 16 * v);
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) {
      const Reg bs = V::set1(TransB ? b[j * ldb + k] : b[k * ldb + j]);
#pragma GCC unroll 16
      for (int v = 0; v < MV; ++v) acc[v][j] = V::fmadd(av[v], bs, acc[v][j]);
    }
  }
  const Reg va = V::set1(alpha);
  float tmp[16];
#pragma GCC unroll 16
  for (int v = 0; v < MV; ++v)
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) {
      V::store_all(tmp, V::mul(acc[v][j], va));
      const Idx n = std::min<Idx>(16, rows - 16 * v);
      float* cp = c + 16 * v * ldc + j;
      if (beta == 0.0f)
        for (Idx l = 0; l < n; ++l) cp[l * ldc] = tmp[l];
      else
        for (Idx l = 0; l < n; ++l) cp[l * ldc] = tmp[l] + beta * cp[l * ldc];
    }
}

using ColFn = void (*)(Idx, const float*, Idx, Idx, const float*, Idx, float, float, float*, Idx);

template <class V, bool TransB, int MV, int... C>
constexpr std::array<ColFn, sizeof...(C)> col_tiles_by_cols(std::integer_sequence<int, C...>) {
  return {&col_tile<V, MV, C + 1, TransB>...};
}

// [MV - 1][NC - 1]: col_tile<MV, NC>.
template <class V, bool TransB, int... R>
constexpr std::array<std::array<ColFn, V::kColCols>, sizeof...(R)> col_tiles(std::integer_sequence<int, R...>) {
  return {col_tiles_by_cols<V, TransB, R + 1>(std::make_integer_sequence<int, V::kColCols>{})...};
}

// C = alpha op(A) op(B) + beta C with A stored [K,M]; op(B) read in place.
template <class V, bool TransB>
PLANGRAD_GEMM_FN void col_gemm(Idx M, Idx N, Idx K, float alpha, const float* A, const float* B, float beta,
                               float* C) {
  static constexpr auto fns = col_tiles<V, TransB>(std::make_integer_sequence<int, V::kColVecs>{});
  const Idx ldb = TransB ? K : N;
  for (Idx i0 = 0; i0 < M; i0 += 16 * V::kColVecs) {
    const Idx rows = std::min<Idx>(16 * V::kColVecs, M - i0);
    const Idx mv = (rows + 15) / 16;
    for (Idx j0 = 0; j0 < N; j0 += V::kColCols) {
      const Idx nc = std::min<Idx>(V::kColCols, N - j0);
      const float* b = TransB ? B + j0 * K : B + j0;
      fns[static_cast<std::size_t>(mv - 1)][static_cast<std::size_t>(nc - 1)](K, A + i0, M, rows, b, ldb, alpha,
                                                                               beta, C + i0 * N + j0, N);
    }
  }
}

struct GemmCall {
  bool trans_a, trans_b;
  Idx M, N, K;
  float alpha;
  const float* A;
  const float* B;
  float beta;
  float* C;
};

// Column blocks [first, last) of C: op(B) read in place, or, when transposed, packed.
template <class V, bool TransA>
PLANGRAD_GEMM_FN void column_blocks(const GemmCall& g, Idx first, Idx last) {
  const Idx M = g.M, N = g.N, K = g.K;
  if (!g.trans_b) {  // op(B) rows are B's rows: read in place
    for (Idx j0 = first * kBlockCols; j0 < std::min(N, last * kBlockCols); j0 += kBlockCols)
      row_tiles<V, TransA>(M, K, j0, std::min(kBlockCols, N - j0), 0, K, g.alpha, g.A, g.B + j0, N, g.beta,
                           g.C, N);
    return;
  }
  alignas(64) float pack[kPackRows * kBlockCols];
  for (Idx j0 = first * kBlockCols; j0 < std::min(N, last * kBlockCols); j0 += kBlockCols) {
    const Idx nr = std::min(kBlockCols, N - j0);
    for (Idx k0 = 0; k0 < K; k0 += kPackRows) {
      const Idx kc = std::min(kPackRows, K - k0);
      // pack[k][j] = op(B)[k0 + k, j0 + j] = B[(j0 + j) * K + k0 + k]; columns past nr
      // are never loaded (masked), so they are left alone.
      const float* src = g.B + j0 * K + k0;
      for (Idx j = 0; j < nr; ++j)  // B's rows read in order
        for (Idx k = 0; k < kc; ++k) pack[k * kBlockCols + j] = src[j * K + k];
      // Later k blocks add onto what the first one wrote.
      row_tiles<V, TransA>(M, K, j0, nr, k0, kc, g.alpha, g.A, pack, kBlockCols, k0 == 0 ? g.beta : 1.0f, g.C,
                           N);
    }
  }
}

// small_sgemm's contract (kernels/small_gemm.hpp) for M, N, K > 0.
template <class V, bool TransA>
PLANGRAD_GEMM_FN void gemm(bool trans_b, Idx M, Idx N, Idx K, float alpha, const float* A, const float* B,
                           float beta, float* C) {
  if (N <= kNarrowCols) {
    if (TransA) {
      if (trans_b)
        col_gemm<V, true>(M, N, K, alpha, A, B, beta, C);
      else
        col_gemm<V, false>(M, N, K, alpha, A, B, beta, C);
      return;
    }
    if (trans_b) {  // op(B)'s columns are B's rows
      dot_gemm<V>(M, N, K, alpha, A, B, K, beta, C);
      return;
    }
    if (N * K <= kPackRows * kBlockCols) {  // copy op(B)'s columns into the stack buffer
      alignas(64) float pack[kPackRows * kBlockCols];
      for (Idx k = 0; k < K; ++k)
        for (Idx j = 0; j < N; ++j) pack[j * K + k] = B[k * N + j];
      dot_gemm<V>(M, N, K, alpha, A, pack, K, beta, C);
      return;
    }
  }
  if (M == 1 && !trans_b) {  // a row vector times B, read in place
    row_vector<V>(N, K, alpha, A, B, beta, C);
    return;
  }
  const GemmCall call{TransA, trans_b, M, N, K, alpha, A, B, beta, C};
  const Idx blocks = (N + kBlockCols - 1) / kBlockCols;
  const int threads = op_threads();
  if (threads > 1 && blocks > 1 && M * N * K >= kThreadedWork) {
    parallel_chunks(threads, blocks, 1, [&call](long first, long last) PLANGRAD_GEMM_FN {
      if (call.trans_a)
        column_blocks<V, true>(call, first, last);
      else
        column_blocks<V, false>(call, first, last);
    });
    return;
  }
  column_blocks<V, TransA>(call, 0, blocks);
}

}  // namespace plangrad::small_gemm_tiles
