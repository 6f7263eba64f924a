// A stride-1 convolution of one zero-padded image as an implicit GEMM, for conv2d's float
// forward and its data gradient (ops/conv2d.cpp): no im2col, no column buffer. Output
// plane m, row oh, columns ow0 .. ow0+15 is one register vector, and "row k = (p, i, j)
// of B" for it is the contiguous run xp[p, oh + i, ow0 + j ...] of the padded input, so
// the register tiles of small_sgemm (rows of A times 16-column vectors) work unchanged,
// with B's rows found through a table of offsets instead of a leading dimension.
//
// Register-tiled kernels for the AVX-512 and AVX2 paths (kernels/conv_rows_tiles.hpp,
// written once over a 16-float vector; the two give the same bits: each output summed
// over k in the same order with the same fused multiply-adds) and a plain loop nest for
// the generic path, which differs from them only by rounding each product (no FMA).
#pragma once

#include <cstdint>

#include "core/tensor.hpp"
#include "kernels/isa.hpp"

namespace plangrad {

// The convolution, for one image:
//   out[m, oh, ow] = bias[m] + sum over k = (p, i, j) in that order (j fastest) of
//                    A[m, k] * xp[p, oh + i, ow + j]        (+ beta * out[m, oh, ow])
// with xp [P, HP, WP] the padded input, out [M, OH, OW], OH = HP - KH + 1, OW = WP - KW + 1,
// and A[m, (p, i, j)] = a[m * sm + p * sp + i * si + j * sj]: the strides let A be the
// filters as stored (forward: sm = P*KH*KW, sp = KH*KW, si = KW, sj = 1) or the filters
// transposed and flipped (the data gradient: a at w's [0, 0, KH-1, KW-1], sm = KH*KW,
// sp = C*KH*KW, si = -KW, sj = -1) without a copy. The sum starts from 0 and adds k in
// order; then bias (when not null) and beta * out (when beta != 0; out is not read
// otherwise). Reads xp only inside [0, P*HP*WP), writes out only inside [0, M*OH*OW).
struct ConvRows {
  Dim M = 0;           // output planes (rows of A)
  Dim P = 0;           // input planes of xp
  Dim KH = 0, KW = 0;  // window
  Dim HP = 0, WP = 0;  // xp's plane
  const float* a = nullptr;
  Dim sm = 0, sp = 0, si = 0, sj = 0;
  const float* xp = nullptr;
  const float* bias = nullptr;
  float beta = 0.0f;
  float* out = nullptr;
};

// The most terms (P*KH*KW) a call may have: the kernels keep a table of offsets per term
// on the stack (32 KiB at most). Larger windows take conv2d's im2col path.
constexpr Dim kConvRowsMaxTerms = 4096;

// On the process's kernel path (kernel_isa()); M, P, KH, KW > 0, KH <= HP, KW <= WP,
// P*KH*KW <= kConvRowsMaxTerms. No heap allocation.
void conv_rows(const ConvRows& c);
// On a given path, for the tests and benchmarks; the CPU must support it (cpu_supports).
void conv_rows_on(Isa isa, const ConvRows& c);

// The padded input: dst [planes, h + 2 ph, w + 2 pw] with src [planes, h, w] inside and
// zeros around. With `borders` false only the inside is written: the zeros are those a
// previous call left in dst with the same sizes.
void conv_rows_pad(const float* src, Dim planes, Dim h, Dim w, Dim ph, Dim pw, float* dst, bool borders);
void conv_rows_pad_on(Isa isa, const float* src, Dim planes, Dim h, Dim w, Dim ph, Dim pw, float* dst,
                      bool borders);

#if PLANGRAD_KERNEL_DISPATCH
void conv_rows_avx512(const ConvRows& c);
void conv_rows_avx2(const ConvRows& c);
void conv_rows_pad_avx512(const float* src, Dim planes, Dim h, Dim w, Dim ph, Dim pw, float* dst, bool borders);
void conv_rows_pad_avx2(const float* src, Dim planes, Dim h, Dim w, Dim ph, Dim pw, float* dst, bool borders);
#endif

}  // namespace plangrad
