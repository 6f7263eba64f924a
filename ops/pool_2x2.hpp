// max_pool2d's 2x2 stride-2 windows without padding (the CNN's pool), one plane at a time:
// the kernels of ops/pool.cpp, and batchnorm's fused batchnorm + relu + max-pool step
// (ops/batchnorm.cpp), which pools a plane of batchnorm's output computed into a local
// buffer. Templates: each kernel path's wrappers compile them into their own copy.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ops/conv2d.hpp"
#include "ops/pool_2x2_f32.hpp"

namespace plangrad::pool_2x2 {

// A cell of the input as the max-pool sees it: the cell itself, or with kRelu, relu's
// output for it (ops/activations.cpp's formula: NaN and -0 become +0). The kRelu kernels
// are max_pool2d's after_relu kernels: the pool of relu(x) with relu's output never in
// memory, every comparison made on the values the two steps would have compared.
template <bool kRelu, class T>
inline T cell(T x) {
  if constexpr (kRelu) return x > T(0) ? x : T(0);
  else return x;
}


template <class B, class T>
B bits_of(T x) {
  B b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
template <class T, class B>
T from_bits(B b) {
  T x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// The fast path of the common 2x2 window, stride 2, no padding (the CNN's pool): the same
// comparisons, in the same order, as ops/pool.cpp's window_argmax, so the same result.
// Windows of rows r0, r1 (x) and d0, d1 (dx), window ow at columns j = 2 ow, j + 1.
inline bool is_2x2_stride_2(const Window2d& g) {
  return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0;
}

// Blocks of kBlock windows from ow0, with selects that the compiler vectorizes (a fixed
// trip count: the rows of a CNN are too short for a vectorized loop over the row).
constexpr Dim kBlock = 8;

// The forward: each window's maximum, the chain v = c0; v = c1 > v ? c1 : v; ... of
// window_argmax (a NaN in cell 0 stays, a NaN elsewhere never wins).
template <bool kRelu, class T>
inline T max_2x2(const T* r0, const T* r1, Dim j) {
  const T c0 = cell<kRelu>(r0[j]), c1 = cell<kRelu>(r0[j + 1]);
  const T c2 = cell<kRelu>(r1[j]), c3 = cell<kRelu>(r1[j + 1]);
  const T v1 = c1 > c0 ? c1 : c0;
  const T v2 = c2 > v1 ? c2 : v1;
  return c3 > v2 ? c3 : v2;
}
template <bool kRelu, class T>
void pool_2x2_block_scalar(const T* r0, const T* r1, T* yr, Dim ow0) {
  for (Dim k = 0; k < kBlock; ++k) yr[ow0 + k] = max_2x2<kRelu>(r0, r1, 2 * (ow0 + k));
}

// kBlock windows from ow0: float on ops/pool_2x2_f32.hpp's vectors.
template <bool kRelu, class T>
inline void pool_2x2_block(const T* r0, const T* r1, T* yr, Dim ow0) {
  if constexpr (std::is_same_v<T, float>) pool_f32::pool_2x2_block8<kRelu>(r0 + 2 * ow0, r1 + 2 * ow0, yr + ow0);
  else pool_2x2_block_scalar<kRelu>(r0, r1, yr, ow0);
}

// A gradient cell written (kAdd false) or added to (kAdd true).
template <bool kAdd, class T>
inline void put(T& d, T g) {
  if constexpr (kAdd) d += g;
  else d = g;
}

// The backward: the winner is the last of cells 1..3 that beats the maximum so far (the
// comparisons of window_argmax), else cell 0; it gets T(0) + dy (the general path's bits:
// a -0 gradient becomes +0), the other cells +0. With kRelu, relu's backward follows: the
// winner keeps its gradient only where relu's output there, the window's maximum, is > 0
// (relu's gradient at 0 is 0); every other cell gets relu's gradient of +0, which is +0.
// kAdd adds to all four cells, as relu's backward adds to every cell when it accumulates
// (a -0 there becomes +0). No branches: on real data which cell wins is unpredictable.
//
// route_2x2_block: kBlock windows from ow0, vectorized by the compiler.
template <bool kRelu, bool kAdd, class T>
void route_2x2_block(const T* r0, const T* r1, const T* dyr, T* d0, T* d1, Dim ow0) {
  for (Dim k = 0; k < kBlock; ++k) {
    const Dim ow = ow0 + k, j = 2 * ow;
    const T c0 = cell<kRelu>(r0[j]), c1 = cell<kRelu>(r0[j + 1]);
    const T c2 = cell<kRelu>(r1[j]), c3 = cell<kRelu>(r1[j + 1]);
    const T v1 = c1 > c0 ? c1 : c0;
    const T v2 = c2 > v1 ? c2 : v1;
    T routed = T(0) + dyr[ow];
    if constexpr (kRelu) routed = (c3 > v2 ? c3 : v2) > T(0) ? routed : T(0);
    // Each cell holds routed while it is the winner so far.
    T w0 = c1 > c0 ? T(0) : routed, w1 = c1 > c0 ? routed : T(0);
    w0 = c2 > v1 ? T(0) : w0;
    w1 = c2 > v1 ? T(0) : w1;
    const T w2 = c2 > v1 ? routed : T(0);
    put<kAdd>(d0[j], c3 > v2 ? T(0) : w0);
    put<kAdd>(d0[j + 1], c3 > v2 ? T(0) : w1);
    put<kAdd>(d1[j], c3 > v2 ? T(0) : w2);
    put<kAdd>(d1[j + 1], c3 > v2 ? routed : T(0));
  }
}

// route_2x2_block<kRelu, false> of float on route_2x2_block16.
template <bool kRelu, bool kAdd, class T>
inline void route_2x2_block_w(const T* r0, const T* r1, const T* dyr, T* d0, T* d1, Dim ow0) {
  if constexpr (!kAdd && std::is_same_v<T, float>)
    pool_f32::route_2x2_block16<kRelu>(r0 + 2 * ow0, r1 + 2 * ow0, dyr + ow0, d0 + 2 * ow0, d1 + 2 * ow0);
  else
    route_2x2_block<kRelu, kAdd>(r0, r1, dyr, d0, d1, ow0);
}

// route_2x2_short: a row of n < kBlock windows as one block, the windows past the row
// computed and dropped. With `spill` (another pair of rows follows this one, in this
// plane or, for the plane's last pair, in the next plane the caller routes after this
// one, and rows have 8 cells or more), the block reads past the row pair into the next
// one (finite or not, those values only feed the dropped windows) and writes its 2 kBlock
// cells of each row whole, d0 before d1: d0's spill lands on d1's first cells, which d1's
// write then sets, and d1's on the next pair's first cells, which that pair's own write
// sets later (the caller goes down the plane, and the planes, in order, and writes every
// cell of a row: its last column too when the width is odd). Rows of 8 cells or more
// make the spill fit the next plane: it reads 2 kBlock - W <= W cells of x and
// kBlock - OW <= OW of dy. Without `spill`, the block works on local copies loaded and
// stored under the mask of the row's cells.
template <bool kRelu, class T>
void route_2x2_short(const T* r0, const T* r1, const T* dyr, T* d0, T* d1, Dim n, bool spill) {
  if (spill && std::is_same_v<T, float>) {
    route_2x2_block_w<kRelu, false>(r0, r1, dyr, d0, d1, 0);
    return;
  }
  T o0[2 * kBlock], o1[2 * kBlock];
  if (spill) {
    route_2x2_block<kRelu, false>(r0, r1, dyr, o0, o1, 0);
    std::memcpy(d0, o0, sizeof o0);
    std::memcpy(d1, o1, sizeof o1);
    return;
  }
  T a0[2 * kBlock], a1[2 * kBlock], dyl[kBlock];
  for (Dim k = 0; k < 2 * kBlock; ++k) {
    a0[k] = k < 2 * n ? r0[k] : T(0);
    a1[k] = k < 2 * n ? r1[k] : T(0);
  }
  for (Dim k = 0; k < kBlock; ++k) dyl[k] = k < n ? dyr[k] : T(0);
  route_2x2_block<kRelu, false>(a0, a1, dyl, o0, o1, 0);
  for (Dim k = 0; k < 2 * kBlock; ++k)
    if (k < 2 * n) {
      d0[k] = o0[k];
      d1[k] = o1[k];
    }
}

// route_2x2_one: one window; the gradient's bits under all-ones or all-zeros masks (the
// compiler would make branches of scalar selects).
template <bool kRelu, bool kAdd, class T>
void route_2x2_one(const T* r0, const T* r1, const T* dyr, T* d0, T* d1, Dim ow) {
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  const Dim j = 2 * ow;
  const T c0 = cell<kRelu>(r0[j]), c1 = cell<kRelu>(r0[j + 1]);
  const T c2 = cell<kRelu>(r1[j]), c3 = cell<kRelu>(r1[j + 1]);
  const bool s1 = c1 > c0;
  const T v1 = s1 ? c1 : c0;
  const bool s2 = c2 > v1;
  const T v2 = s2 ? c2 : v1;
  const bool s3 = c3 > v2;
  Bits routed = bits_of<Bits>(T(0) + dyr[ow]);
  if constexpr (kRelu) routed &= Bits(0) - Bits((s3 ? c3 : v2) > T(0));
  const Bits m3 = Bits(0) - Bits(s3), m2 = (Bits(0) - Bits(s2)) & ~m3;
  const Bits m1 = (Bits(0) - Bits(s1)) & ~m2 & ~m3, m0 = ~(m1 | m2 | m3);
  put<kAdd>(d0[j], from_bits<T>(routed & m0));
  put<kAdd>(d0[j + 1], from_bits<T>(routed & m1));
  put<kAdd>(d1[j], from_bits<T>(routed & m2));
  put<kAdd>(d1[j + 1], from_bits<T>(routed & m3));
}


// The 2x2 stride 2 forward of one plane. `next_plane`: another plane follows in memory
// (the caller pools it after this one), which a row of fewer than kBlock windows may read
// into; its output row is written again by the next pass.
template <bool kRelu, class T>
void pool_2x2_plane(const Window2d& g, const T* xc, T* yc, bool next_plane) {
  for (Dim oh = 0; oh < g.oh; ++oh) {
    const T* r0 = xc + 2 * oh * g.w;
    const T* r1 = r0 + g.w;
    T* yr = yc + oh * g.ow;
    // Blocks, the last one overlapping the one before when kBlock does not divide
    // the row (it writes the same values again).
    if (g.ow >= kBlock) {
      for (Dim ow = 0; ow + kBlock <= g.ow; ow += kBlock) pool_2x2_block<kRelu>(r0, r1, yr, ow);
      if (g.ow % kBlock) pool_2x2_block<kRelu>(r0, r1, yr, g.ow - kBlock);
    } else if ((oh + 1 < g.oh || (next_plane && 2 * g.oh == g.h)) && g.w >= kBlock) {
      // A shorter row as one block that reads into the next pair of rows and writes
      // into the next output row, which the next pass of this loop (or of the plane
      // loop) writes again (see route_2x2_short).
      pool_2x2_block<kRelu>(r0, r1, yr, 0);
    } else {
      for (Dim ow = 0; ow < g.ow; ++ow) yr[ow] = max_2x2<kRelu>(r0, r1, 2 * ow);
    }
  }
}

// The 2x2 stride 2 backward of one plane. Windows do not overlap: each covered cell
// receives at most one gradient, so every cell is written once (added to once with kAdd).
// An odd width or height leaves the last column or row outside every window: 0 there
// (relu's backward adds +0 there with kAdd). `next_plane`: the caller routes the plane
// that follows in memory right after this one (route_2x2_short's spill).
template <bool kRelu, bool kAdd, class T>
void route_2x2_plane(const Window2d& g, const T* xc, const T* dyc, T* dxc, bool next_plane) {
  for (Dim oh = 0; oh < g.oh; ++oh) {
    const T* r0 = xc + 2 * oh * g.w;
    const T* r1 = r0 + g.w;
    T* d0 = dxc + 2 * oh * g.w;
    T* d1 = d0 + g.w;
    const T* dyr = dyc + oh * g.ow;
    Dim ow = 0;
    if (g.ow >= kBlock) {
      for (; ow + kBlock <= g.ow; ow += kBlock) route_2x2_block_w<kRelu, kAdd>(r0, r1, dyr, d0, d1, ow);
      // Written: the last block may overlap the one before (it writes the same values
      // again). Added: the rest one window at a time.
      if (!kAdd && ow < g.ow) {
        route_2x2_block_w<kRelu, kAdd>(r0, r1, dyr, d0, d1, g.ow - kBlock);
        ow = g.ow;
      }
    }
    if (!kAdd && ow < g.ow) {
      route_2x2_short<kRelu>(r0, r1, dyr, d0, d1, g.ow, (oh + 1 < g.oh || (next_plane && 2 * g.oh == g.h)) && g.w >= kBlock);
      ow = g.ow;
    }
    for (; ow < g.ow; ++ow) route_2x2_one<kRelu, kAdd>(r0, r1, dyr, d0, d1, ow);
    if (2 * g.ow < g.w) {
      put<kAdd>(d0[g.w - 1], T(0));
      put<kAdd>(d1[g.w - 1], T(0));
    }
  }
  for (T* d = dxc + 2 * g.oh * g.w; d < dxc + g.h * g.w; ++d) put<kAdd>(*d, T(0));
}

}  // namespace plangrad::pool_2x2
