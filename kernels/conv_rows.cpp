#include "kernels/conv_rows.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace plangrad {

namespace {

using Idx = std::ptrdiff_t;

// The generic path: one output row at a time, in blocks of kCols columns summed in a
// stack array over k, in the AVX kernels' order (products rounded: no FMA).
void conv_rows_portable(const ConvRows& c) {
  constexpr Idx kCols = 64;
  const Idx OH = c.HP - c.KH + 1, OW = c.WP - c.KW + 1;
  float acc[kCols];
  for (Idx m = 0; m < c.M; ++m) {
    const float* am = c.a + m * c.sm;
    for (Idx oh = 0; oh < OH; ++oh)
      for (Idx ow0 = 0; ow0 < OW; ow0 += kCols) {
        const Idx nb = std::min(kCols, OW - ow0);
        for (Idx l = 0; l < nb; ++l) acc[l] = 0.0f;
        for (Idx p = 0; p < c.P; ++p)
          for (Idx i = 0; i < c.KH; ++i)
            for (Idx j = 0; j < c.KW; ++j) {
              const float a = am[p * c.sp + i * c.si + j * c.sj];
              const float* b = c.xp + (p * c.HP + oh + i) * c.WP + ow0 + j;
              for (Idx l = 0; l < nb; ++l) acc[l] += a * b[l];
            }
        float* o = c.out + (m * OH + oh) * OW + ow0;
        const float bias = c.bias ? c.bias[m] : 0.0f;
        for (Idx l = 0; l < nb; ++l) {
          float x = acc[l];
          if (c.bias) x = x + bias;
          if (c.beta != 0.0f) x = x + c.beta * o[l];
          o[l] = x;
        }
      }
  }
}

void pad_portable(const float* src, Dim planes, Dim h, Dim w, Dim ph, Dim pw, float* dst, bool borders) {
  const Dim wp = w + 2 * pw;
  for (Dim p = 0; p < planes; ++p) {
    if (borders) std::fill_n(dst, ph * wp, 0.0f);
    dst += ph * wp;
    for (Dim r = 0; r < h; ++r, src += w, dst += wp) {
      if (borders) {
        std::fill_n(dst, pw, 0.0f);
        std::fill_n(dst + pw + w, pw, 0.0f);
      }
      std::copy(src, src + w, dst + pw);
    }
    if (borders) std::fill_n(dst, ph * wp, 0.0f);
    dst += ph * wp;
  }
}

using Kernel = void (*)(const ConvRows&);
using PadKernel = void (*)(const float*, Dim, Dim, Dim, Dim, Dim, float*, bool);

PadKernel pad_kernel_for(Isa isa) {
#if PLANGRAD_KERNEL_DISPATCH
  if (isa == Isa::avx512) return &conv_rows_pad_avx512;
  if (isa == Isa::avx2) return &conv_rows_pad_avx2;
#else
  (void)isa;
#endif
  return &pad_portable;
}

Kernel kernel_for(Isa isa) {
#if PLANGRAD_KERNEL_DISPATCH
  if (isa == Isa::avx512) return &conv_rows_avx512;
  if (isa == Isa::avx2) return &conv_rows_avx2;
#else
  (void)isa;
#endif
  return &conv_rows_portable;
}

}  // namespace

void conv_rows_on(Isa isa, const ConvRows& c) { kernel_for(isa)(c); }

void conv_rows(const ConvRows& c) {
  static const Kernel kernel = kernel_for(kernel_isa());
  kernel(c);
}

void conv_rows_pad_on(Isa isa, const float* src, Dim planes, Dim h, Dim w, Dim ph, Dim pw, float* dst,
                      bool borders) {
  pad_kernel_for(isa)(src, planes, h, w, ph, pw, dst, borders);
}

void conv_rows_pad(const float* src, Dim planes, Dim h, Dim w, Dim ph, Dim pw, float* dst, bool borders) {
  static const PadKernel kernel = pad_kernel_for(kernel_isa());
  kernel(src, planes, h, w, ph, pw, dst, borders);
}

}  // namespace plangrad
