// A 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3): for inference
// plans (planner/winograd.cpp puts these ops there in place of conv2d), and, forward and
// backward, for plans with a backward (conv2d_by_winograd, below):
//
//   winograd_filters(w[F,C,3,3]) -> u[16,C,F]
//   conv2d_winograd(x[N,C,H,W], u[16,C,F], b[F]) -> y[N,F,OH,OW]
//
// Attribute of conv2d_winograd: padding [ph, pw] (default [0, 0]); OH = H + 2 ph - 2,
// OW = W + 2 pw - 2, at least 1 each. y is conv2d(x, w, b) with stride 1 and that padding,
// computed another way: each 2x2 block of output, (2 ty, 2 tx) to (2 ty + 1, 2 tx + 1),
// is A^T [sum over c of U_fc (.) V_c] A + b_f, with U_fc = G w_fc G^T (u, made once per
// run by winograd_filters, in double, rounded once) and V_c = B^T d_c B, d_c the 4x4 block
// of the zero-padded plane c at (2 ty, 2 tx) (Lavin and Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016). 16 multiplies per block, channel and filter
// instead of conv2d's 36: the sum over c is 16 GEMMs, one per position of the 4x4 block.
// The transforms add and subtract only (G halves, exactly), so values differ from
// conv2d's by rounding alone: their distance is a few float roundings of the sums'
// magnitudes (tests/test_op_conv2d_winograd.cpp holds it to conv2d's in double). The same
// bits on the AVX-512 and AVX2 paths and at any thread count (one image per task).
//
// conv2d_winograd also has OpDef::then_relu_pool's forward: a 2x2 stride-2 max-pool's
// windows are its 2x2 blocks, so the pooled value of a block is taken while the block is
// in registers, and y never goes to memory. Forward only: neither op has a gradient rule.
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& winograd_filters_op();
const OpDef& conv2d_winograd_op();

// conv2d and conv2d_nobias by F(2x2, 3x3), forward and backward, for the planner's training
// plans (planner/winograd.hpp): the same inputs, attributes, output and gradients as the
// direct ops, for a 3x3 window, stride 1 and padding 2 or less. The forward transforms the
// filters at every step into the workspace, then runs as conv2d_winograd. The backward
// leaves db to conv2d's kernel; dw is the adjoint of the forward's transforms (in a fixed
// number of chunks of the batch: the same bits at any thread count); dx is the
// convolution of dy, padded by 2 - p, with the filters turned by 180 degrees over swapped
// axes, by F(2x2, 3x3) too.
// Registered as the other ops are (a model may name them), though models name conv2d and
// the planner chooses.
const OpDef& conv2d_by_winograd_op();
const OpDef& conv2d_nobias_by_winograd_op();

// Whether the planner gives conv2d's work with x [N, C, H, W] and w [F, C, KH, KW] (and
// conv2d's attributes) to the two ops above: a 3x3 window, stride 1, C and F of at least
// kWinogradMinChannels (a single input channel has too few multiplies per transformed
// value to gain), and N * OH * OW of at least kWinogradMinOutputs: below that the filters'
// transform, made at every run, costs more than the multiplies it saves. (bench_winograd,
// one thread: the residual CNN at batch 1, whose six 3x3 convolutions have 196, 49 and 16
// outputs per filter, two each, runs in 124.7 us direct, 119.5 us with the two of 196 by
// Winograd, 170.1 us with all six, the bound set to 1.)
constexpr Dim kWinogradMinChannels = 8;
constexpr Dim kWinogradMinOutputs = 128;
bool winograd_applies(const Shape& x, const Shape& w, const Attrs& conv_attrs);
// winograd_applies, and padding of 2 or less (dx's padding is 2 - p).
bool winograd_trains(const Shape& x, const Shape& w, const Attrs& conv_attrs);

}  // namespace plangrad
