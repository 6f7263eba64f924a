#include "kernels/small_gemm.hpp"

#include "kernels/parallel.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace plangrad {

namespace {

using Idx = std::ptrdiff_t;

// One row of C at a time, in blocks of kCols columns summed in a stack array over k.
void portable_gemm(bool trans_a, bool trans_b, Idx M, Idx N, Idx K, float alpha, const float* A,
                   const float* B, float beta, float* C) {
  constexpr Idx kCols = 64;
  float acc[kCols];
  for (Idx i = 0; i < M; ++i)
    for (Idx j0 = 0; j0 < N; j0 += kCols) {
      const Idx nb = std::min(kCols, N - j0);
      for (Idx j = 0; j < nb; ++j) acc[j] = 0.0f;
      for (Idx k = 0; k < K; ++k) {
        const float a = trans_a ? A[k * M + i] : A[i * K + k];
        if (trans_b) {  // B stored [N,K]
          const float* b = B + j0 * K + k;
          for (Idx j = 0; j < nb; ++j) acc[j] += a * b[j * K];
        } else {
          const float* b = B + k * N + j0;
          for (Idx j = 0; j < nb; ++j) acc[j] += a * b[j];
        }
      }
      float* c = C + i * N + j0;
      if (beta == 0.0f)  // C is not read: it may hold garbage
        for (Idx j = 0; j < nb; ++j) c[j] = alpha * acc[j];
      else
        for (Idx j = 0; j < nb; ++j) c[j] = alpha * acc[j] + beta * c[j];
    }
}

#if defined(__AVX512F__)

// Register tile: MR rows of C by NV * 16 columns (the last vector masked), summed over kc
// values of k in MR * NV zmm accumulators, then C = alpha * acc (+ beta * C).
//   op(A)[r, k] = a[k * lda + r] when TransA (A stored [K,M], lda = M), else a[r * lda + k];
//   op(B)[k, 16 v + l] = b[k * ldb + 16 v + l] (row-major, B itself or the packed copy).
// Loads are masked to the tile's columns, so nothing past an operand's end is read.
constexpr int kMaxRows = 8;   // MR
constexpr int kMaxVecs = 2;   // NV: 32 columns per tile
constexpr Idx kTileCols = 16 * kMaxVecs;

template <int MR, int NV, bool TransA>
void tile(Idx kc, const float* a, Idx lda, const float* b, Idx ldb, __mmask16 m0,
          __mmask16 m1, float alpha, float beta, float* c, Idx ldc) {
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  const float* arow[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) arow[r] = TransA ? a + r : a + r * lda;
  for (Idx k = 0; k < kc; ++k) {
    __m512 bv[NV];
    bv[0] = _mm512_maskz_loadu_ps(m0, b + k * ldb);
    if constexpr (NV > 1) bv[1] = _mm512_maskz_loadu_ps(m1, b + k * ldb + 16);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(TransA ? arow[r][k * lda] : arow[r][k]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      const __mmask16 m = v == 0 ? m0 : m1;
      float* cp = c + r * ldc + 16 * v;
      __m512 x = _mm512_mul_ps(acc[r][v], va);
      if (beta != 0.0f) x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, cp), x);
      _mm512_mask_storeu_ps(cp, m, x);
    }
}

using TileFn = void (*)(Idx, const float*, Idx, const float*, Idx, __mmask16, __mmask16, float,
                        float, float*, Idx);

template <int NV, bool TransA, int... R>
constexpr TileFn pick_tile(int mr, std::integer_sequence<int, R...>) {
  constexpr TileFn fns[] = {&tile<R + 1, NV, TransA>...};
  return fns[mr - 1];
}

template <bool TransA>
TileFn pick(int mr, int nv) {
  const auto rows = std::make_integer_sequence<int, kMaxRows>{};
  return nv == 1 ? pick_tile<1, TransA>(mr, rows) : pick_tile<2, TransA>(mr, rows);
}

__mmask16 lanes(Idx n) {  // the first n lanes (none for n <= 0, all 16 for n >= 16)
  if (n <= 0) return 0;
  return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1u);
}

// The rows of C, kMaxRows at a time, for one block of columns [j0, j0 + nr) and one block
// of k [k0, k0 + kc); b points at op(B)[k0, j0] with row stride ldb.
template <bool TransA>
void row_tiles(Idx M, Idx K, Idx j0, Idx nr, Idx k0, Idx kc, float alpha, const float* A,
               const float* b, Idx ldb, float beta, float* C, Idx N) {
  const int nv = nr > 16 ? 2 : 1;
  const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
  const Idx lda = TransA ? M : K;
  const TileFn full = pick<TransA>(kMaxRows, nv);
  for (Idx i0 = 0; i0 < M; i0 += kMaxRows) {
    const Idx mr = std::min<Idx>(kMaxRows, M - i0);
    const TileFn fn = mr == kMaxRows ? full : pick<TransA>(static_cast<int>(mr), nv);
    const float* a = TransA ? A + k0 * M + i0 : A + i0 * K + k0;
    fn(kc, a, lda, b, ldb, m0, m1, alpha, beta, C + i0 * N + j0, N);
  }
}

// One row of C (M == 1; a is contiguous whether A is transposed or not) times B stored
// [K, N]: a row tile would keep only two accumulators, and each FMA would wait on the
// previous one. Here up to 8 vectors (128 columns) per pass over k: 8 independent chains. Each
// element still sums k in order in one accumulator, then alpha and beta as in tile: the
// same bits as the row tile.
template <int NV>
void row_vector_block(Idx n, Idx K, float alpha, const float* a, const float* b, Idx ldb, float beta,
                      float* c) {
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  __mmask16 m[NV];
  __m512 acc[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    m[v] = lanes(n - 16 * v);
    acc[v] = _mm512_setzero_ps();
  }
  for (Idx k = 0; k < K; ++k) {
    const __m512 av = _mm512_set1_ps(a[k]);
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)  // masked past n: no load, no fault
      acc[v] = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m[v], b + k * ldb + 16 * v), acc[v]);
  }
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    float* cp = c + 16 * v;
    __m512 x = _mm512_mul_ps(acc[v], va);
    if (beta != 0.0f) x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m[v], cp), x);
    _mm512_mask_storeu_ps(cp, m[v], x);
  }
}

void row_vector(Idx N, Idx K, float alpha, const float* a, const float* B, float beta, float* c) {
  constexpr Idx kCols = 128;  // 8 vectors
  using BlockFn = void (*)(Idx, Idx, float, const float*, const float*, Idx, float, float*);
  constexpr BlockFn blocks[] = {&row_vector_block<1>, &row_vector_block<2>, &row_vector_block<3>,
                                &row_vector_block<4>, &row_vector_block<5>, &row_vector_block<6>,
                                &row_vector_block<7>, &row_vector_block<8>};
  for (Idx j0 = 0; j0 < N; j0 += kCols) {
    const Idx n = std::min(kCols, N - j0);
    blocks[(n + 15) / 16 - 1](n, K, alpha, a, B + j0, N, beta, c + j0);
  }
}

// Narrow C (N <= kNarrowCols): a row tile would leave most of its 16 lanes idle, so the
// vectors run along another dimension instead.
constexpr Idx kNarrowCols = 12;
constexpr int kDotRows = 4, kDotCols = 4;  // dot tile: 4 x 4 dot products
constexpr int kColVecs = 4, kColCols = 4;  // column tile: 64 rows x 4 columns

// The sum of x's 16 lanes, as a tree. Masked (maskz) shuffles throughout: GCC 12 warns
// under -Wall about the unmasked ones, _mm512_reduce_add_ps and the 512 -> 128 cast (their
// header code passes an "undefined" vector).
inline float lane_sum(__m512 x) {
  x = _mm512_add_ps(x, _mm512_maskz_shuffle_f32x4(0xFFFF, x, x, _MM_SHUFFLE(1, 0, 3, 2)));
  x = _mm512_add_ps(x, _mm512_maskz_shuffle_f32x4(0xFFFF, x, x, _MM_SHUFFLE(2, 3, 0, 1)));
  x = _mm512_add_ps(x, _mm512_maskz_permute_ps(0xFFFF, x, _MM_SHUFFLE(1, 0, 3, 2)));
  x = _mm512_add_ps(x, _mm512_maskz_permute_ps(0xFFFF, x, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_cvtss_f32(x);
}

// Dot tile, for op(A) with contiguous rows (A not transposed): C[r, c] for r < MR, c < NC
// is the dot product of a[r * lda + 0..K) and bt[c * ldbt + 0..K) (op(B)'s column c,
// contiguous), summed in 16 lanes and then across them.
template <int MR, int NC>
void dot_tile(Idx K, const float* a, Idx lda, const float* bt, Idx ldbt, float alpha,
              float beta, float* c, Idx ldc) {
  __m512 acc[MR][NC];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) acc[r][j] = _mm512_setzero_ps();
  for (Idx k = 0; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (K - k)) - 1u);
    __m512 bv[NC];
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) bv[j] = _mm512_maskz_loadu_ps(m, bt + j * ldbt + k);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_maskz_loadu_ps(m, a + r * lda + k);
#pragma GCC unroll 16
      for (int j = 0; j < NC; ++j) acc[r][j] = _mm512_fmadd_ps(av, bv[j], acc[r][j]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) {
      const float x = alpha * lane_sum(acc[r][j]);
      float* cp = c + r * ldc + j;
      *cp = beta == 0.0f ? x : x + beta * *cp;
    }
}

using DotFn = void (*)(Idx, const float*, Idx, const float*, Idx, float, float, float*, Idx);

template <int MR, int... C>
constexpr DotFn pick_dot_cols(int nc, std::integer_sequence<int, C...>) {
  constexpr DotFn fns[] = {&dot_tile<MR, C + 1>...};
  return fns[nc - 1];
}

template <int... R>
constexpr DotFn pick_dot(int mr, int nc, std::integer_sequence<int, R...>) {
  constexpr DotFn (*fns[])(int, std::integer_sequence<int, 0, 1, 2, 3>) = {
      &pick_dot_cols<R + 1, 0, 1, 2, 3>...};
  return fns[mr - 1](nc, std::integer_sequence<int, 0, 1, 2, 3>{});
}

static_assert(kDotCols == 4, "pick_dot lists the column counts 1..4");

// C = alpha op(A) op(B) + beta C with A stored [M,K]; bt holds op(B)'s columns, each
// contiguous with stride ldbt (B itself when trans_b, else a packed copy).
void dot_gemm(Idx M, Idx N, Idx K, float alpha, const float* A, const float* bt, Idx ldbt,
              float beta, float* C) {
  const auto rows = std::make_integer_sequence<int, kDotRows>{};
  for (Idx i0 = 0; i0 < M; i0 += kDotRows) {
    const int mr = static_cast<int>(std::min<Idx>(kDotRows, M - i0));
    for (Idx j0 = 0; j0 < N; j0 += kDotCols) {
      const int nc = static_cast<int>(std::min<Idx>(kDotCols, N - j0));
      pick_dot(mr, nc, rows)(K, A + i0 * K, K, bt + j0 * ldbt, ldbt, alpha, beta,
                             C + i0 * N + j0, N);
    }
  }
}

// Column tile, for A stored [K,M] (op(A)'s columns contiguous): C[16 v + l, c] for
// v < MV, c < NC, rows past `rows` masked off; per k, MV vectors of op(A)[., k] times
// op(B)[k, c] broadcast. C's elements are strided (one row apart), so each vector goes
// through a stack array and is written element by element.
template <int MV, int NC, bool TransB>
void col_tile(Idx K, const float* a, Idx lda, Idx rows, const float* b, Idx ldb, float alpha,
              float beta, float* c, Idx ldc) {
  __mmask16 mask[MV];
#pragma GCC unroll 16
  for (int v = 0; v < MV; ++v) mask[v] = lanes(rows - 16 * v);
  __m512 acc[MV][NC];
#pragma GCC unroll 16
  for (int v = 0; v < MV; ++v)
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) acc[v][j] = _mm512_setzero_ps();
  for (Idx k = 0; k < K; ++k) {
    __m512 av[MV];
#pragma GCC unroll 16
    for (int v = 0; v < MV; ++v) av[v] = _mm512_maskz_loadu_ps(mask[v], a + k * lda + 16 * v);
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) {
      const __m512 bs = _mm512_set1_ps(TransB ? b[j * ldb + k] : b[k * ldb + j]);
#pragma GCC unroll 16
      for (int v = 0; v < MV; ++v) acc[v][j] = _mm512_fmadd_ps(av[v], bs, acc[v][j]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha);
  alignas(64) float tmp[16];
#pragma GCC unroll 16
  for (int v = 0; v < MV; ++v)
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) {
      _mm512_store_ps(tmp, _mm512_mul_ps(acc[v][j], va));
      const Idx n = std::min<Idx>(16, rows - 16 * v);
      float* cp = c + 16 * v * ldc + j;
      if (beta == 0.0f)
        for (Idx l = 0; l < n; ++l) cp[l * ldc] = tmp[l];
      else
        for (Idx l = 0; l < n; ++l) cp[l * ldc] = tmp[l] + beta * cp[l * ldc];
    }
}

using ColFn = void (*)(Idx, const float*, Idx, Idx, const float*, Idx, float, float, float*, Idx);

template <bool TransB, int MV, int... C>
constexpr ColFn pick_col_cols(int nc, std::integer_sequence<int, C...>) {
  constexpr ColFn fns[] = {&col_tile<MV, C + 1, TransB>...};
  return fns[nc - 1];
}

template <bool TransB>
ColFn pick_col(int mv, int nc) {
  static_assert(kColVecs == 4 && kColCols == 4, "pick_col lists the counts 1..4");
  const auto cols = std::make_integer_sequence<int, kColCols>{};
  switch (mv) {
    case 1: return pick_col_cols<TransB, 1>(nc, cols);
    case 2: return pick_col_cols<TransB, 2>(nc, cols);
    case 3: return pick_col_cols<TransB, 3>(nc, cols);
    default: return pick_col_cols<TransB, 4>(nc, cols);
  }
}

// C = alpha op(A) op(B) + beta C with A stored [K,M]; op(B) read in place.
template <bool TransB>
void col_gemm(Idx M, Idx N, Idx K, float alpha, const float* A, const float* B, float beta,
              float* C) {
  const Idx ldb = TransB ? K : N;
  for (Idx i0 = 0; i0 < M; i0 += 16 * kColVecs) {
    const Idx rows = std::min<Idx>(16 * kColVecs, M - i0);
    const int mv = static_cast<int>((rows + 15) / 16);
    for (Idx j0 = 0; j0 < N; j0 += kColCols) {
      const int nc = static_cast<int>(std::min<Idx>(kColCols, N - j0));
      const float* b = TransB ? B + j0 * K : B + j0;
      pick_col<TransB>(mv, nc)(K, A + i0, M, rows, b, ldb, alpha, beta, C + i0 * N + j0, N);
    }
  }
}

// Wide C is worked in blocks of kTileCols columns, each on its own: a block's results do
// not depend on which thread computes it, so splitting the blocks between threads gives
// the same bits as one thread.
struct GemmCall {
  bool trans_a, trans_b;
  Idx M, N, K;
  float alpha;
  const float* A;
  const float* B;
  float beta;
  float* C;
};

// The stack buffer for op(B), kPackRows x kTileCols floats (32 KiB): a transposed op(B) is
// copied into it block by block (column_blocks); a narrow op(B) of at most that many
// elements is copied whole, column by column, for the dot tiles (avx512_gemm).
constexpr Idx kPackRows = 256;

// Column blocks [first, last) of C: op(B) read in place, or, when transposed, packed.
template <bool TransA>
void column_blocks(const GemmCall& g, Idx first, Idx last) {
  const Idx M = g.M, N = g.N, K = g.K;
  if (!g.trans_b) {  // op(B) rows are B's rows: read in place
    for (Idx j0 = first * kTileCols; j0 < std::min(N, last * kTileCols); j0 += kTileCols)
      row_tiles<TransA>(M, K, j0, std::min(kTileCols, N - j0), 0, K, g.alpha, g.A, g.B + j0, N,
                        g.beta, g.C, N);
    return;
  }
  alignas(64) float pack[kPackRows * kTileCols];
  for (Idx j0 = first * kTileCols; j0 < std::min(N, last * kTileCols); j0 += kTileCols) {
    const Idx nr = std::min(kTileCols, N - j0);
    for (Idx k0 = 0; k0 < K; k0 += kPackRows) {
      const Idx kc = std::min(kPackRows, K - k0);
      // pack[k][j] = op(B)[k0 + k, j0 + j] = B[(j0 + j) * K + k0 + k]; columns past nr
      // are never loaded (masked), so they are left alone.
      const float* src = g.B + j0 * K + k0;
      for (Idx k = 0; k < kc; ++k)
        for (Idx j = 0; j < nr; ++j) pack[k * kTileCols + j] = src[j * K + k];
      // Later k blocks add onto what the first one wrote.
      row_tiles<TransA>(M, K, j0, nr, k0, kc, g.alpha, g.A, pack, kTileCols,
                        k0 == 0 ? g.beta : 1.0f, g.C, N);
    }
  }
}

// GEMMs of at least this many multiply-adds are split between threads (below it the
// hand-over costs more than it saves).
constexpr Idx kThreadedWork = Idx(1) << 21;

template <bool TransA>
void avx512_gemm(bool trans_b, Idx M, Idx N, Idx K, float alpha, const float* A,
                 const float* B, float beta, float* C) {
  if (N <= kNarrowCols) {
    if (TransA) {
      if (trans_b)
        col_gemm<true>(M, N, K, alpha, A, B, beta, C);
      else
        col_gemm<false>(M, N, K, alpha, A, B, beta, C);
      return;
    }
    if (trans_b) {  // op(B)'s columns are B's rows
      dot_gemm(M, N, K, alpha, A, B, K, beta, C);
      return;
    }
    if (N * K <= kPackRows * kTileCols) {  // copy op(B)'s columns into the stack buffer
      alignas(64) float pack[kPackRows * kTileCols];
      for (Idx k = 0; k < K; ++k)
        for (Idx j = 0; j < N; ++j) pack[j * K + k] = B[k * N + j];
      dot_gemm(M, N, K, alpha, A, pack, K, beta, C);
      return;
    }
  }
  if (M == 1 && !trans_b) {  // a row vector times B, read in place
    row_vector(N, K, alpha, A, B, beta, C);
    return;
  }
  GemmCall call{TransA, trans_b, M, N, K, alpha, A, B, beta, C};
  const Idx blocks = (N + kTileCols - 1) / kTileCols;
  const int threads = op_threads();
  if (threads > 1 && blocks > 1 && M * N * K >= kThreadedWork) {
    parallel_chunks(threads, blocks, 1, [&call](long first, long last) {
      if (call.trans_a)
        column_blocks<true>(call, first, last);
      else
        column_blocks<false>(call, first, last);
    });
    return;
  }
  column_blocks<TransA>(call, 0, blocks);
}

#endif  // __AVX512F__

}  // namespace

void small_sgemm_portable(bool trans_a, bool trans_b, Dim M, Dim N, Dim K, float alpha,
                          const float* A, const float* B, float beta, float* C) {
  portable_gemm(trans_a, trans_b, static_cast<Idx>(M), static_cast<Idx>(N), static_cast<Idx>(K),
                alpha, A, B, beta, C);
}

void small_sgemm(bool trans_a, bool trans_b, Dim M, Dim N, Dim K, float alpha, const float* A,
                 const float* B, float beta, float* C) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // an empty sum: C = beta C (A and B may be null; C is not read if beta == 0)
    for (Dim i = 0; i < M * N; ++i) C[i] = beta == 0.0f ? 0.0f : beta * C[i];
    return;
  }
#if defined(__AVX512F__)
  const Idx m = static_cast<Idx>(M), n = static_cast<Idx>(N), k = static_cast<Idx>(K);
  if (trans_a)
    avx512_gemm<true>(trans_b, m, n, k, alpha, A, B, beta, C);
  else
    avx512_gemm<false>(trans_b, m, n, k, alpha, A, B, beta, C);
#else
  small_sgemm_portable(trans_a, trans_b, M, N, K, alpha, A, B, beta, C);
#endif
}


bool small_sgemm_uses_avx512() {
#if defined(__AVX512F__)
  return true;
#else
  return false;
#endif
}

}  // namespace plangrad
