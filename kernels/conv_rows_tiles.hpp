// conv_rows' register tiles (kernels/conv_rows.hpp), written once over a vector type V of
// 16 floats and compiled by conv_rows_avx512.cpp (V one zmm) and conv_rows_avx2.cpp (V
// two ymm). Every function carries PLANGRAD_CONV_ROWS_FN, the file's target attribute.
//
// The two give the same bits: each output element is one accumulator lane, which starts
// at 0 and takes k = 0, 1, ... in order, one fused multiply-add each, whatever the tile
// sizes; then + bias, then beta * out fused in. Tile sizes only decide which elements
// share a pass over k.
//
// V provides Reg, Mask; zero(), set1(x), lanes(n) (the first n lanes, all for n >= 16),
// load(m, p) (masked: lanes off read nothing and are 0), store(m, p, x), add(a, b),
// fmadd(a, b, c) (a * b + c, rounded once); and kRows (rows of A per tile) and kVecs
// (vectors of 16 columns per tile, 1 or 2).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/conv_rows.hpp"

#ifndef PLANGRAD_CONV_ROWS_FN
#error "define PLANGRAD_CONV_ROWS_FN (the target attribute) before including kernels/conv_rows_tiles.hpp"
#endif

namespace plangrad::conv_rows_tiles {

using Idx = std::ptrdiff_t;

// One tile's operands. Vector v covers 16 columns of one output row (fewer at the row's
// end: mask m[v]); b[v] is xp at that row and column for k = 0, out[v] the output there
// for m = 0. Term k reads A at a[r * sm + a_off[k]] and B at b[v] + b_off[k].
template <class V>
struct Tile {
  Idx K;
  const float* a;
  Idx sm;
  const std::int32_t* a_off;
  const std::int32_t* b_off;
  const float* b[2];
  typename V::Mask m[2];
  const float* bias;  // at row 0, or null
  float beta;
  float* out[2];
  Idx ld_out;  // from one output plane to the next
};

// ContigA: a_off[k] == k (A's rows contiguous, the forward's filters as stored), read
// through a pointer instead of the table.
template <class V, int MR, int NV, bool ContigA>
PLANGRAD_CONV_ROWS_FN void tile(const Tile<V>& t) {
  using Reg = typename V::Reg;
  Reg acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
  const float* arow[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) arow[r] = t.a + r * t.sm;
  const float* b[NV];
  typename V::Mask m[NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) {
    b[v] = t.b[v];
    m[v] = t.m[v];
  }
  const Idx K = t.K;
  const std::int32_t* a_off = t.a_off;
  const std::int32_t* b_off = t.b_off;
  for (Idx k = 0; k < K; ++k) {
    const Idx ob = b_off[k], oa = ContigA ? k : a_off[k];
    Reg bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bv[v] = V::load(m[v], b[v] + ob);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const Reg av = V::set1(arow[r][oa]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = V::fmadd(av, bv[v], acc[r][v]);
    }
  }
  if (t.bias) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const Reg br = V::set1(t.bias[r]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = V::add(acc[r][v], br);
    }
  }
  if (t.beta != 0.0f) {
    const Reg vb = V::set1(t.beta);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) {
        float* cp = t.out[v] + r * t.ld_out;
        acc[r][v] = V::fmadd(vb, V::load(m[v], cp), acc[r][v]);
      }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) V::store(m[v], t.out[v] + r * t.ld_out, acc[r][v]);
}

template <class V>
using TileFn = void (*)(const Tile<V>&);

template <class V, int NV, bool ContigA, int... R>
constexpr std::array<TileFn<V>, sizeof...(R)> tiles_by_rows(std::integer_sequence<int, R...>) {
  return {&tile<V, R + 1, NV, ContigA>...};
}

// tile<mr, nv, ContigA> for mr = 1 .. V::kRows, nv = 1 .. V::kVecs.
template <class V, bool ContigA>
PLANGRAD_CONV_ROWS_FN TileFn<V> pick_tile(Idx mr, int nv) {
  constexpr auto rows = std::make_integer_sequence<int, V::kRows>{};
  static constexpr auto one = tiles_by_rows<V, 1, ContigA>(rows);
  const auto r = static_cast<std::size_t>(mr - 1);
  if constexpr (V::kVecs == 1) {
    return one[r];
  } else {
    static constexpr auto two = tiles_by_rows<V, 2, ContigA>(rows);
    return nv == 1 ? one[r] : two[r];
  }
}

// The output's rows are cut into chunks of 16 columns (the last of each row narrower);
// V::kVecs consecutive chunks (of one row or of two) make a tile's columns, V::kRows
// output planes its rows.
template <class V, bool ContigA>
PLANGRAD_CONV_ROWS_FN void run_tiles(const ConvRows& c) {
  const Idx K = c.P * c.KH * c.KW;
  std::int32_t a_off[kConvRowsMaxTerms], b_off[kConvRowsMaxTerms];
  for (Idx p = 0, k = 0; p < c.P; ++p)
    for (Idx i = 0; i < c.KH; ++i)
      for (Idx j = 0; j < c.KW; ++j, ++k) {
        a_off[k] = static_cast<std::int32_t>(p * c.sp + i * c.si + j * c.sj);
        b_off[k] = static_cast<std::int32_t>((p * c.HP + i) * c.WP + j);
      }
  const Idx OH = c.HP - c.KH + 1, OW = c.WP - c.KW + 1, plane = OH * OW;
  const Idx per_row = (OW + 15) / 16, chunks = OH * per_row;
  Tile<V> t;
  t.K = K;
  t.sm = c.sm;
  t.a_off = a_off;
  t.b_off = b_off;
  t.beta = c.beta;
  t.ld_out = plane;
  for (Idx q0 = 0; q0 < chunks; q0 += V::kVecs) {
    const int nv = static_cast<int>(std::min<Idx>(V::kVecs, chunks - q0));
    float* out[2];
    for (int v = 0; v < 2; ++v) {  // an unused second vector is never read (nv == 1)
      const Idx q = std::min<Idx>(q0 + v, chunks - 1);
      const Idx oh = q / per_row, ow0 = (q % per_row) * 16;
      t.b[v] = c.xp + oh * c.WP + ow0;
      t.m[v] = V::lanes(OW - ow0);
      out[v] = c.out + oh * OW + ow0;
    }
    // The rows in tiles = ceil(M / kRows) tiles of near-equal sizes (32 rows of 6-row
    // tiles: 6, 6, 5, 5, 5, 5 rather than five 6s and a 2).
    const Idx tiles = (c.M + V::kRows - 1) / V::kRows, small = c.M / tiles, big = tiles - c.M % tiles;
    for (Idx tt = 0, m0 = 0; tt < tiles; ++tt) {
      const Idx mr = tt < big ? small : small + 1;
      t.a = c.a + m0 * c.sm;
      t.bias = c.bias ? c.bias + m0 : nullptr;
      for (int v = 0; v < 2; ++v) t.out[v] = out[v] + m0 * plane;
      pick_tile<V, ContigA>(mr, nv)(t);
      m0 += mr;
    }
  }
}

template <class V>
PLANGRAD_CONV_ROWS_FN void run(const ConvRows& c) {
  if (c.sj == 1 && c.si == c.KW && c.sp == c.KH * c.KW)
    run_tiles<V, true>(c);
  else
    run_tiles<V, false>(c);
}

// conv_rows_pad (kernels/conv_rows.hpp): each row a few masked vector copies.
template <class V>
PLANGRAD_CONV_ROWS_FN void pad(const float* src, Idx planes, Idx h, Idx w, Idx ph, Idx pw, float* dst,
                               bool borders) {
  const Idx wp = w + 2 * pw;
  const typename V::Reg zero = V::zero();
  auto zeros = [&](float* d, Idx n) PLANGRAD_CONV_ROWS_FN {
    for (Idx k = 0; k < n; k += 16) V::store(V::lanes(n - k), d + k, zero);
  };
  for (Idx p = 0; p < planes; ++p) {
    if (borders) zeros(dst, ph * wp);
    dst += ph * wp;
    for (Idx r = 0; r < h; ++r, src += w, dst += wp) {
      if (borders) {
        zeros(dst, pw);
        zeros(dst + pw + w, pw);
      }
      for (Idx k = 0; k < w; k += 16) {
        const typename V::Mask m = V::lanes(w - k);
        V::store(m, dst + pw + k, V::load(m, src + k));
      }
    }
    if (borders) zeros(dst, ph * wp);
    dst += ph * wp;
  }
}

}  // namespace plangrad::conv_rows_tiles
