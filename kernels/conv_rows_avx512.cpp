// conv_rows' AVX-512 kernel: kernels/conv_rows_tiles.hpp with V one zmm register, compiled
// for the avx512 path's target (kernels/isa.hpp) whatever the build's flags.
#include "kernels/conv_rows.hpp"

#if PLANGRAD_KERNEL_DISPATCH

#include <immintrin.h>

#define PLANGRAD_CONV_ROWS_FN __attribute__((target(PLANGRAD_TARGET_AVX512)))
#include "kernels/conv_rows_tiles.hpp"
#include "kernels/vec16.hpp"

namespace plangrad {

namespace {

using conv_rows_tiles::Idx;

struct Zmm : vec16::Zmm {
  // 8 x 2 accumulators, 2 vectors of B and a broadcast of A: 19 of the 32 registers (more
  // rows per tile measured no faster).
  static constexpr int kRows = 8, kVecs = 2;
};

}  // namespace

void conv_rows_avx512(const ConvRows& c) { conv_rows_tiles::run<Zmm>(c); }

void conv_rows_pad_avx512(const float* src, Dim planes, Dim h, Dim w, Dim ph, Dim pw, float* dst, bool borders) {
  conv_rows_tiles::pad<Zmm>(src, planes, h, w, ph, pw, dst, borders);
}

}  // namespace plangrad

#endif  // PLANGRAD_KERNEL_DISPATCH
