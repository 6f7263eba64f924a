#pragma once
// max_pool2d's 2x2 stride-2 float blocks on 8-lane vectors (GCC's vector extensions),
// used by ops/pool.cpp's kernels, whose wrappers compile them once per kernel path at that
// path's width (two xmm on the generic path). They compute the same comparisons and
// selects as pool.cpp's scalar max_2x2 and route_2x2_block, lane by lane: every op is
// element-wise, so every path gives the same bits.
#include <cstdint>
#include <cstring>

namespace plangrad::pool_f32 {

// 8 lanes, not 16: GCC 12 makes scalar code of a 16-lane float comparison. A cast between
// the two types keeps the bits; selects are bit operations on the comparisons' masks (all
// ones or all zeros).
using F8 = float __attribute__((vector_size(32)));
using I8 = std::int32_t __attribute__((vector_size(32)));

// max_2x2's chain on 8 windows of float, the cells split by column with two-vector
// shuffles: lane k holds window ow0 + k. The same comparisons and selects, lane by lane,
// written as vector conditionals (`b > a ? b : a` is one max instruction on AVX, with
// max_2x2's result for NaN as well). With kRelu every cell is +0 or more after relu (NaN
// and -0 become +0): a window's maximum is then the same value in whatever order its
// cells are compared, so the two rows are compared first, on whole vectors, and the
// columns once.
template <bool kRelu>
inline void pool_2x2_block8(const float* r0, const float* r1, float* yr) {
  const F8 zero = {};
  F8 a[4];
  std::memcpy(&a[0], r0, sizeof a[0]);
  std::memcpy(&a[1], r0 + 8, sizeof a[1]);
  std::memcpy(&a[2], r1, sizeof a[2]);
  std::memcpy(&a[3], r1 + 8, sizeof a[3]);
  F8 v;
  if constexpr (kRelu) {
    for (F8& c : a) c = c > zero ? c : zero;
    const F8 m0 = a[2] > a[0] ? a[2] : a[0];
    const F8 m1 = a[3] > a[1] ? a[3] : a[1];
    // __builtin_shufflevector (GCC 12 and clang, constant lanes): the even and odd cells.
    const F8 even = __builtin_shufflevector(m0, m1, 0, 2, 4, 6, 8, 10, 12, 14);
    const F8 odd = __builtin_shufflevector(m0, m1, 1, 3, 5, 7, 9, 11, 13, 15);
    v = odd > even ? odd : even;
  } else {
    const F8 c0 = __builtin_shufflevector(a[0], a[1], 0, 2, 4, 6, 8, 10, 12, 14);
    const F8 c1 = __builtin_shufflevector(a[0], a[1], 1, 3, 5, 7, 9, 11, 13, 15);
    const F8 c2 = __builtin_shufflevector(a[2], a[3], 0, 2, 4, 6, 8, 10, 12, 14);
    const F8 c3 = __builtin_shufflevector(a[2], a[3], 1, 3, 5, 7, 9, 11, 13, 15);
    const F8 v1 = c1 > c0 ? c1 : c0;
    const F8 v2 = c2 > v1 ? c2 : v1;
    v = c3 > v2 ? c3 : v2;
  }
  std::memcpy(yr, &v, sizeof v);
}

// route_2x2_block16: route_2x2_block's 8 windows in float, written (not added), on vectors
// of 8 lanes laid out as the rows are: lanes 2k and 2k + 1 hold window k's cells of one
// row (a vector covers 4 windows). Each pair of lanes computes its window's comparisons
// twice (the even cells and the odd cells duplicated into both lanes of the pair), so the
// masks come out in the rows' layout and each row is plain stores, d0's 16 cells before
// d1's: no shuffles to split the cells by column and none to put them back. The same
// comparisons and selects as route_2x2_block, lane by lane, so the same bits on every path
// (every op is element-wise, however the target splits the lanes). It reads 16 cells of r0
// and r1 and 8 of dyr.

// Window pairs' masks and gradients of one vector (4 windows: dy's kHalf-th four): o0 for
// row 0, o1 for row 1.
template <bool kRelu, int kHalf>
inline void route_2x2_lanes(const float* r0, const float* r1, const F8& dy, F8& o0, F8& o1) {
  const F8 zero = {};
  F8 a0, a1;
  std::memcpy(&a0, r0, sizeof a0);
  std::memcpy(&a1, r1, sizeof a1);
  if constexpr (kRelu) {
    a0 = F8(I8(a0) & (a0 > zero));
    a1 = F8(I8(a1) & (a1 > zero));
  }
  const I8 odd_lane = {0, -1, 0, -1, 0, -1, 0, -1};
  const F8 c0 = __builtin_shufflevector(a0, a0, 0, 0, 2, 2, 4, 4, 6, 6);
  const F8 c1 = __builtin_shufflevector(a0, a0, 1, 1, 3, 3, 5, 5, 7, 7);
  const F8 c2 = __builtin_shufflevector(a1, a1, 0, 0, 2, 2, 4, 4, 6, 6);
  const F8 c3 = __builtin_shufflevector(a1, a1, 1, 1, 3, 3, 5, 5, 7, 7);
  const I8 s1 = c1 > c0;
  const F8 v1 = F8((s1 & I8(c1)) | (~s1 & I8(c0)));
  const I8 s2 = c2 > v1;
  const F8 v2 = F8((s2 & I8(c2)) | (~s2 & I8(v1)));
  const I8 s3 = c3 > v2;
  constexpr int h = 4 * kHalf;
  F8 routed = zero + __builtin_shufflevector(dy, dy, h, h, h + 1, h + 1, h + 2, h + 2, h + 3, h + 3);
  if constexpr (kRelu) routed = F8(I8(routed) & (F8((s3 & I8(c3)) | (~s3 & I8(v2))) > zero));
  // Row 0: cell 0 (even lanes) wins when none of 1..3 beat it, cell 1 when it beat cell 0
  // and neither 2 nor 3 beat it. Row 1: cell 3 (odd lanes) when it beat the rest, cell 2
  // when it beat 0 and 1 and 3 did not beat it.
  const I8 top = ~s2 & ~s3 & (s1 ^ ~odd_lane);
  const I8 bottom = (odd_lane & s3) | (~odd_lane & s2 & ~s3);
  o0 = F8(top & I8(routed));
  o1 = F8(bottom & I8(routed));
}

template <bool kRelu>
inline void route_2x2_block16(const float* r0, const float* r1, const float* dyr, float* d0, float* d1) {
  F8 dy, o0a, o1a, o0b, o1b;
  std::memcpy(&dy, dyr, sizeof dy);
  route_2x2_lanes<kRelu, 0>(r0, r1, dy, o0a, o1a);
  route_2x2_lanes<kRelu, 1>(r0 + 8, r1 + 8, dy, o0b, o1b);
  std::memcpy(d0, &o0a, sizeof o0a);
  std::memcpy(d0 + 8, &o0b, sizeof o0b);
  std::memcpy(d1, &o1a, sizeof o1a);
  std::memcpy(d1 + 8, &o1b, sizeof o1b);
}

}  // namespace plangrad::pool_f32
