// conv_dw's register tiles (kernels/conv_dw.hpp), written once over a vector type V of 16
// float lanes and compiled by each path's file: conv_dw_avx512.cpp (V one zmm),
// conv_dw_avx2.cpp (V two ymm) and conv_dw.cpp (V a plain array, the generic path). Every
// function carries PLANGRAD_CONV_DW_FN, the file's target attribute.
//
// Each (f, k) sum is the same on every path whatever the tile sizes: lane l of its
// accumulator takes the products of the columns ow = l (mod 16) of each output row, the
// block's images and rows in order, 16-column chunks in order; the flush combines the 16
// lanes in double in one fixed tree (V::total, lanes_total's order).
//
// V provides: Reg, Mask; zero(), lanes(n) (the first n lanes, 1 <= n <= 16), load(m, p)
// (masked: lanes off read nothing and are 0), load_all(p) (16 floats), fmadd(a, b, c)
// (a * b + c), fmadd_tail(m, a, b, c) (fmadd on the lanes of m; the others keep c),
// keep(m, x) (the lanes off m cleared to +0), total(x) (the 16 lanes in double: lane
// l + lane l+8, then l+4, l+2, l+1); kRows, kKs, kAcc: a tile's most filters, values of k
// and accumulators.
#pragma once

#include <array>
#include <cstring>
#include <utility>

#include "kernels/conv_dw.hpp"

#ifndef PLANGRAD_CONV_DW_FN
#error "define PLANGRAD_CONV_DW_FN (the target attribute) before including kernels/conv_dw_tiles.hpp"
#endif

namespace plangrad::conv_dw_tiles {

using conv_dw_detail::Idx;
using conv_dw_detail::Tile;
using conv_dw_detail::TileFn;

// One 16-column chunk of an output row: MR vectors of dy, NK shifted vectors of xp, MR * NK
// fused multiply-adds. Loads read 16 floats: past a tail chunk's columns they read the
// next row's values, which the lanes never keep. Guard: masked loads instead, for the
// last images of the batch, where 16 floats from a tail chunk may run past the buffers.
// Merge: a tail chunk of a row that also has full chunks, whose lanes past the tail must
// keep what the full chunks gave them (in a row of one tail chunk those lanes are only
// ever garbage, cleared at the flush).
template <class V, int MR, int NK, bool Guard, bool Merge>
PLANGRAD_CONV_DW_FN inline void chunk(typename V::Reg (&acc)[MR][NK], const Idx (&off)[NK], Idx ohw,
                                      const typename V::Mask& m, const float* d, const float* x) {
  using Reg = typename V::Reg;
  Reg dv[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) dv[r] = Guard ? V::load(m, d + r * ohw) : V::load_all(d + r * ohw);
#pragma GCC unroll 8
  for (int q = 0; q < NK; ++q) {
    const Reg xv = Guard ? V::load(m, x + off[q]) : V::load_all(x + off[q]);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
      acc[r][q] = Merge ? V::fmadd_tail(m, dv[r], xv, acc[r][q]) : V::fmadd(dv[r], xv, acc[r][q]);
  }
}

// The rows of one image. Rows narrower than 16 columns are one tail chunk each.
template <class V, int MR, int NK, bool Guard>
PLANGRAD_CONV_DW_FN inline void image_rows(typename V::Reg (&acc)[MR][NK], const Idx (&off)[NK], const Tile& t,
                                           const float* d, const float* x, const typename V::Mask& all,
                                           const typename V::Mask& last) {
  const Idx full = t.ow / 16, tail = t.ow % 16;
  if (full == 0) {
    for (Idx oh = 0; oh < t.oh; ++oh, d += t.ow, x += t.wp) chunk<V, MR, NK, Guard, false>(acc, off, t.ohw, last, d, x);
    return;
  }
  for (Idx oh = 0; oh < t.oh; ++oh, d += t.ow, x += t.wp) {
    for (Idx c = 0; c < full; ++c) chunk<V, MR, NK, false, false>(acc, off, t.ohw, all, d + 16 * c, x + 16 * c);
    if (tail > 0) chunk<V, MR, NK, Guard, true>(acc, off, t.ohw, last, d + 16 * full, x + 16 * full);
  }
}

// MR filters by NK values of k over the tile's images, then the flush into double.
template <class V, int MR, int NK>
PLANGRAD_CONV_DW_FN void tile(const Tile& t) {
  using Reg = typename V::Reg;
  Reg acc[MR][NK];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < NK; ++q) acc[r][q] = V::zero();
  Idx off[NK];
#pragma GCC unroll 8
  for (int q = 0; q < NK; ++q) off[q] = t.off[q];
  const Idx tail = t.ow % 16;
  const typename V::Mask all = V::lanes(16), last = V::lanes(tail > 0 ? tail : 16);
  for (Idx n = 0; n < t.images; ++n) {
    const float* d = t.dy + n * t.dy_image;
    const float* x = t.xp + n * t.xp_image;
    if (n >= t.guard_from)
      image_rows<V, MR, NK, true>(acc, off, t, d, x, all, last);
    else
      image_rows<V, MR, NK, false>(acc, off, t, d, x, all, last);
  }
  const bool narrow = t.ow < 16;  // lanes past OW hold garbage
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < NK; ++q) {
      unsigned char* slot = t.sums + 8 * (r * t.ld + q);
      double s;
      std::memcpy(&s, slot, sizeof s);
      s += V::total(narrow ? V::keep(last, acc[r][q]) : acc[r][q]);
      std::memcpy(slot, &s, sizeof s);
    }
}

// tile<MR, NK> when its accumulators fit V's registers (MR * NK <= V::kAcc), else null.
template <class V, int MR, int NK>
constexpr TileFn tile_or_null() {
  if constexpr (MR * NK <= V::kAcc)
    return &tile<V, MR, NK>;
  else
    return nullptr;
}

template <class V, int MR, int... Q>
constexpr std::array<TileFn, sizeof...(Q)> tiles_by_ks(std::integer_sequence<int, Q...>) {
  return {tile_or_null<V, MR, Q + 1>()...};
}

// [MR - 1][NK - 1]: tile<MR, NK>.
template <class V, int... R>
constexpr std::array<std::array<TileFn, V::kKs>, sizeof...(R)> all_tiles(std::integer_sequence<int, R...>) {
  return {tiles_by_ks<V, R + 1>(std::make_integer_sequence<int, V::kKs>{})...};
}

template <class V>
TileFn pick(int mr, int nk) {
  static constexpr auto fns = all_tiles<V>(std::make_integer_sequence<int, V::kRows>{});
  return fns[static_cast<std::size_t>(mr - 1)][static_cast<std::size_t>(nk - 1)];
}

}  // namespace plangrad::conv_dw_tiles
