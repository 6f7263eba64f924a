// conv2d's weight gradient for stride-1 float convolutions, computed directly instead of
// per image as im2col + GEMM:
//   dw[f, (c, i, j)] = sum over n, oh, ow of dy[n, f, oh, ow] * xp_n[c, oh + i, ow + j]
// where xp_n is image n of x zero-padded (copied into the workspace per block of images;
// read in place when there is no padding). ops/conv2d.cpp calls it for float, stride 1.
//
// The order of every sum is fixed by the geometry alone: the vector width, the register
// tile, the kernel path's tiles and the thread count change none of it.
//  - Each (f, k) has 16 float lanes; output column ow goes to lane ow % 16, and the lanes
//    take the images of a block, their output rows and 16-column chunks in order (plain
//    adds of exact products on the generic path, FMAs on the AVX paths).
//  - After each block of images (conv_dw_block_images: a fixed run length per lane), the
//    16 lanes are combined in double in lanes_total's tree and added to a double sum for
//    (f, k), blocks in order. dw = float(that sum) (added onto dw when it accumulates).
//  - Threads split the (f, k) pairs (channel ranges, or filter ranges when there are fewer
//    channels than threads), never the images: dw has the same bits at any thread count,
//    and avx2 gives avx512's bits (kernels/conv_dw_tiles.hpp).
// No heap allocation; everything lives in the workspace (conv_dw_workspace floats).
#pragma once

#include <cstddef>

#include "core/tensor.hpp"
#include "kernels/isa.hpp"

namespace plangrad {

// x[N, C, H, W], dy[N, F, OH, OW], dw[F, C, KH, KW]; stride 1, padding (PH, PW):
// OH = H + 2 PH - KH + 1, OW = W + 2 PW - KW + 1 (both positive).
struct ConvDwGeometry {
  Dim N = 0, C = 0, H = 0, W = 0, F = 0, KH = 0, KW = 0, PH = 0, PW = 0;
  Dim oh() const { return H + 2 * PH - KH + 1; }
  Dim ow() const { return W + 2 * PW - KW + 1; }
};

// The images summed in float per lane before each flush into double.
Dim conv_dw_block_images(const ConvDwGeometry& g);

// The workspace (floats) conv_dw needs for `parts` threads: the double sums and each
// part's padded copy of a block of images.
std::size_t conv_dw_workspace(const ConvDwGeometry& g, int parts);

// The threads conv_dw would use with op_threads() threads and unlimited workspace.
int conv_dw_parts(const ConvDwGeometry& g, int threads);

// dw = the weight gradient (dw += it when `accumulate`), on the process's kernel path
// with as many threads (op_threads()) as the workspace has room for; at least
// conv_dw_workspace(g, 1) floats.
void conv_dw(const ConvDwGeometry& g, const float* x, const float* dy, float* dw, bool accumulate,
             float* workspace, std::size_t workspace_size);

// Whether conv2d should take conv_dw on this process's path: the AVX-512 path (or a
// -march=native build for an AVX-512 CPU). On AVX2 the 16-lane tiles do not fit the 16 ymm
// registers and im2col + GEMM is faster (bench_conv with PLANGRAD_ISA=avx2), and the
// generic path has no FMAs to keep busy: there conv2d keeps im2col + GEMM, so the weight
// gradient of these convolutions, and the training bits of a network that has them,
// differ between avx2 and avx512. conv_dw_on runs every path, for the tests.
bool conv_dw_preferred();

// conv_dw on a given path (the CPU must support it) with a given number of parts, for the
// tests that compare them; the workspace must hold conv_dw_workspace(g, parts).
void conv_dw_on(Isa isa, int parts, const ConvDwGeometry& g, const float* x, const float* dy, float* dw,
                bool accumulate, float* workspace);

namespace conv_dw_detail {

using Idx = std::ptrdiff_t;

// One call of a register tile: MR filters by NK values of k, over `images` images.
//   dy: dy[n0, f0, 0, 0], images dy_image apart, filters ohw apart, rows ow apart;
//   xp: the padded block's image 0 at its first channel, images xp_image apart, rows wp
//   apart; off[q]: where k0 + q's window starts in it ((c - c_first) * plane + i * wp + j);
//   sums: the (f0, k0) double sum (as bytes: sums[r * ld + q], 8 bytes each);
//   guard_from: the first image whose rows' last chunks may not read past their columns
//   (16 floats from there would run past dy's or xp's end).
struct Tile {
  const float* dy;
  const float* xp;
  const Idx* off;
  unsigned char* sums;
  Idx ld, images, dy_image, xp_image, oh, ow, wp, ohw, guard_from;
};

using TileFn = void (*)(const Tile&);

// The kernel path's tiles: fn(mr, nk) for mr <= max_rows, nk <= max_ks, mr * nk <= max_acc.
struct Tiles {
  int max_rows, max_ks, max_acc;
  TileFn (*fn)(int mr, int nk);
};

Tiles tiles_portable();
#if PLANGRAD_KERNEL_DISPATCH
Tiles tiles_avx512();
Tiles tiles_avx2();
#endif

}  // namespace conv_dw_detail

}  // namespace plangrad
