#include "kernels/conv_dw.hpp"

#include <algorithm>
#include <cstring>

#include "kernels/parallel.hpp"

#define PLANGRAD_CONV_DW_FN
#include "kernels/conv_dw_tiles.hpp"

namespace plangrad {

namespace conv_dw_detail {

namespace {

// The generic path's V: 16 floats in an array, a product and a sum rounded apiece.
struct Lanes16 {
  struct Reg {
    float v[16];
  };
  using Mask = Idx;
  static constexpr int kRows = 4, kKs = 9, kAcc = 24;

  static Reg zero() { return Reg{}; }
  static Mask lanes(Idx n) { return n; }
  static Reg load(Mask m, const float* p) {
    Reg r{};
    for (Idx l = 0; l < m; ++l) r.v[l] = p[l];
    return r;
  }
  static Reg load_all(const float* p) {
    Reg r;
    for (int l = 0; l < 16; ++l) r.v[l] = p[l];
    return r;
  }
  static Reg fmadd(const Reg& a, const Reg& b, Reg c) {
    for (int l = 0; l < 16; ++l) c.v[l] += a.v[l] * b.v[l];
    return c;
  }
  static Reg fmadd_tail(Mask m, const Reg& a, const Reg& b, Reg c) {
    for (Idx l = 0; l < m; ++l) c.v[l] += a.v[l] * b.v[l];
    return c;
  }
  static Reg keep(Mask m, Reg x) {
    for (Idx l = m; l < 16; ++l) x.v[l] = 0.0f;
    return x;
  }
  static double total(const Reg& x) {
    double lane[16];
    for (int l = 0; l < 16; ++l) lane[l] = static_cast<double>(x.v[l]);
    for (int half = 8; half > 0; half /= 2)
      for (int l = 0; l < half; ++l) lane[l] += lane[l + half];
    return lane[0];
  }
};

TileFn pick_portable(int mr, int nk) { return conv_dw_tiles::pick<Lanes16>(mr, nk); }

}  // namespace

Tiles tiles_portable() { return {Lanes16::kRows, Lanes16::kKs, Lanes16::kAcc, &pick_portable}; }

}  // namespace conv_dw_detail

namespace {

using conv_dw_detail::Idx;
using conv_dw_detail::Tiles;

// The float run of a lane: about this many 16-column chunks per block of images.
constexpr Idx kRunChunks = 128;
// A load's cost in the choice of register tile, where a multiply-add costs 1.
constexpr double kLoadCost = 1.0;
// Below this many multiply-adds the gradient is not worth splitting between threads.
constexpr Idx kThreadedWork = Idx(1) << 21;

Tiles tiles_for(Isa isa) {
#if PLANGRAD_KERNEL_DISPATCH
  if (isa == Isa::avx512) return conv_dw_detail::tiles_avx512();
  if (isa == Isa::avx2) return conv_dw_detail::tiles_avx2();
#else
  (void)isa;
#endif
  return conv_dw_detail::tiles_portable();
}

bool padded(const ConvDwGeometry& g) { return g.PH > 0 || g.PW > 0; }

Idx plane(const ConvDwGeometry& g) { return (g.H + 2 * g.PH) * (g.W + 2 * g.PW); }

// A chunk's loads read 16 floats: up to 15 past its columns.
constexpr Idx kSlack = 16;

// A part's padded copy of a block of images: all C channels (a part uses its own), and
// kSlack zeros after them.
std::size_t part_elems(const ConvDwGeometry& g) {
  return padded(g) ? static_cast<std::size_t>(conv_dw_block_images(g) * g.C * plane(g) + kSlack) : 0;
}

// The double sums, one per (f, k), ahead of the parts' copies (in floats).
std::size_t sums_elems(const ConvDwGeometry& g) { return static_cast<std::size_t>(2 * g.F * g.C * g.KH * g.KW); }

// Part p's share: channels [c0, c1) and filters [f0, f1).
struct Share {
  Idx c0, c1, f0, f1;
};

Share share(const ConvDwGeometry& g, int p, int parts) {
  if (g.C >= parts) return {part_begin(g.C, p, parts), part_begin(g.C, p + 1, parts), 0, g.F};
  return {0, g.C, part_begin(g.F, p, parts), part_begin(g.F, p + 1, parts)};
}

struct TileShape {
  int rows, ks;
};

// The register tile for `filters` x `ks` values of k: the fewest loads and multiply-adds
// per output chunk, counting the partial tiles at the edges.
TileShape tile_shape(const Tiles& tiles, Idx filters, Idx ks) {
  TileShape best{1, 1};
  double best_cost = 0;
  for (int nk = 1; nk <= tiles.max_ks; ++nk) {
    const int mr = std::min(tiles.max_rows, tiles.max_acc / nk);
    if (mr == 0) break;
    double cost = 0;
    for (Idx f = 0; f < filters; f += mr)
      for (Idx k = 0; k < ks; k += nk) {
        const double r = static_cast<double>(std::min<Idx>(mr, filters - f)), q = static_cast<double>(std::min<Idx>(nk, ks - k));
        cost += r * q + kLoadCost * (r + q);
      }
    if (nk == 1 || cost < best_cost) {
      best = {mr, nk};
      best_cost = cost;
    }
  }
  return best;
}

void run_part(const Tiles& tiles, const ConvDwGeometry& g, const float* x, const float* dy, float* dw,
              bool accumulate, unsigned char* sums, float* copy, const Share& s) {
  const Idx kk = g.KH * g.KW, ckk = g.C * kk, k0 = s.c0 * kk, k1 = s.c1 * kk;
  const Idx oh = g.oh(), ow = g.ow(), ohw = oh * ow, wp = g.W + 2 * g.PW;
  const Idx pl = plane(g), hw = g.H * g.W, chans = s.c1 - s.c0;
  if (s.c0 == s.c1 || s.f0 == s.f1) return;
  for (Idx f = s.f0; f < s.f1; ++f) std::memset(sums + 8 * (f * ckk + k0), 0, static_cast<std::size_t>(8 * (k1 - k0)));
  const Idx block = conv_dw_block_images(g);
  const TileShape shape = tile_shape(tiles, s.f1 - s.f0, k1 - k0);
  // The last image's chunks may read past dy's end (and x's, read in place); an image
  // smaller than kSlack floats may let the image before it do so too.
  const bool roomy = g.F * ohw >= 2 * kSlack && (padded(g) || g.C * hw >= 2 * kSlack);
  const Idx guard_from = roomy ? g.N - 1 : 0;
  // Zeros once: the padding, and the slack the last image's loads may read.
  if (padded(g)) std::fill(copy, copy + block * chans * pl + kSlack, 0.0f);
  Idx off[16];
  for (Idx n0 = 0; n0 < g.N; n0 += block) {
    const Idx images = std::min(block, g.N - n0);
    conv_dw_detail::Tile t{};
    if (padded(g)) {  // the part's channels of the block's images; the padding stays zero
      for (Idx n = 0; n < images; ++n)
        for (Idx c = 0; c < chans; ++c) {
          float* dst = copy + (n * chans + c) * pl + g.PH * wp + g.PW;
          const float* src = x + (n0 + n) * g.C * hw + (s.c0 + c) * hw;
          for (Idx h = 0; h < g.H; ++h) std::memcpy(dst + h * wp, src + h * g.W, static_cast<std::size_t>(g.W) * sizeof(float));
        }
      t.xp = copy;
      t.xp_image = chans * pl;
    } else {
      t.xp = x + n0 * g.C * hw + s.c0 * hw;
      t.xp_image = g.C * hw;
    }
    t.images = images;
    t.guard_from = guard_from - n0;
    t.dy_image = g.F * ohw;
    t.oh = oh;
    t.ow = ow;
    t.wp = wp;
    t.ohw = ohw;
    t.ld = ckk;
    t.off = off;
    for (Idx f = s.f0; f < s.f1; f += shape.rows) {
      const int mr = static_cast<int>(std::min<Idx>(shape.rows, s.f1 - f));
      t.dy = dy + n0 * g.F * ohw + f * ohw;
      for (Idx k = k0; k < k1; k += shape.ks) {
        const int nk = static_cast<int>(std::min<Idx>(shape.ks, k1 - k));
        for (int q = 0; q < nk; ++q) {
          const Idx kq = k + q, c = kq / kk, i = kq % kk / g.KW, j = kq % g.KW;
          off[q] = (c - s.c0) * pl + i * wp + j;
        }
        t.sums = sums + 8 * (f * ckk + k);
        tiles.fn(mr, nk)(t);
      }
    }
  }
  for (Idx f = s.f0; f < s.f1; ++f)
    for (Idx k = k0; k < k1; ++k) {
      double v;
      std::memcpy(&v, sums + 8 * (f * ckk + k), sizeof v);
      float& d = dw[f * ckk + k];
      d = accumulate ? d + static_cast<float>(v) : static_cast<float>(v);
    }
}

void run(const Tiles& tiles, int parts, const ConvDwGeometry& g, const float* x, const float* dy, float* dw,
         bool accumulate, float* workspace) {
  unsigned char* sums = reinterpret_cast<unsigned char*>(workspace);
  float* copies = workspace + sums_elems(g);
  const std::size_t stride = part_elems(g);
  parallel_parts(parts, [&](int p, int n) {
    run_part(tiles, g, x, dy, dw, accumulate, sums, copies + static_cast<std::size_t>(p) * stride, share(g, p, n));
  });
}

}  // namespace

Dim conv_dw_block_images(const ConvDwGeometry& g) {
  const Idx chunks = g.oh() * ((g.ow() + 15) / 16);
  return std::clamp<Idx>(kRunChunks / std::max<Idx>(chunks, 1), 1, std::max<Idx>(g.N, 1));
}

std::size_t conv_dw_workspace(const ConvDwGeometry& g, int parts) {
  return sums_elems(g) + static_cast<std::size_t>(std::max(parts, 1)) * part_elems(g);
}

int conv_dw_parts(const ConvDwGeometry& g, int threads) {
  const Idx work = g.N * g.F * g.C * g.KH * g.KW * g.oh() * g.ow();
  if (threads <= 1 || work < kThreadedWork) return 1;
  return static_cast<int>(std::min<Idx>(threads, std::max(g.C, g.F)));
}

void conv_dw(const ConvDwGeometry& g, const float* x, const float* dy, float* dw, bool accumulate, float* workspace,
             std::size_t workspace_size) {
  static const Tiles tiles = tiles_for(kernel_isa());
  int parts = conv_dw_parts(g, op_threads());
  while (parts > 1 && conv_dw_workspace(g, parts) > workspace_size) --parts;
  run(tiles, parts, g, x, dy, dw, accumulate, workspace);
}

bool conv_dw_preferred() {
#if PLANGRAD_KERNEL_DISPATCH
  return kernel_isa() == Isa::avx512;
#elif defined(__AVX512F__)
  return true;
#else
  return false;
#endif
}

void conv_dw_on(Isa isa, int parts, const ConvDwGeometry& g, const float* x, const float* dy, float* dw,
                bool accumulate, float* workspace) {
  run(tiles_for(isa), std::max(parts, 1), g, x, dy, dw, accumulate, workspace);
}

}  // namespace plangrad
