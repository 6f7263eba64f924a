#include "ops/conv2d_winograd.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/checked.hpp"
#include "kernels/blas.hpp"
#include "kernels/parallel.hpp"
#include "ops/conv2d.hpp"
#include "ops/kernel_util.hpp"

// The vector helpers below take and return GCC's 64-byte vectors by value; they are
// internal to this file and inlined, so no call crosses the ABI the warning is about.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace plangrad {
namespace {

// The 4x4 block's positions, k = 4 i + j: u's and the transformed blocks' leading index.
constexpr Dim kPositions = 16;

struct WinogradDims {
  Dim N = 0, C = 0, F = 0, H = 0, W = 0, ph = 0, pw = 0;
  Dim OH = 0, OW = 0;  // the output plane
  Dim TH = 0, TW = 0;  // its 2x2 blocks, ceil(OH / 2) x ceil(OW / 2)
  Dim tiles = 0;       // TH * TW
  Dim HP = 0, WP = 0;  // the zero-padded plane the blocks read, (2 TH + 2) x (2 TW + 2)
};

// The blocks of a 3x3 stride-1 convolution of x [N, C, H, W] into F filters with padding
// (ph, pw), checked: the op's run and the training op's dx pass (dy into dx) both use it.
WinogradDims winograd_dims_of(Dim N, Dim C, Dim H, Dim W, Dim F, Dim ph, Dim pw, const Shape& x) {
  if (ph < 0 || pw < 0) throw ShapeError("padding " + ints_str({ph, pw}) + " must not be negative");
  WinogradDims d;
  d.N = N;
  d.C = C;
  d.H = H;
  d.W = W;
  d.F = F;
  d.ph = ph;
  d.pw = pw;
  d.OH = add_dims(d.H, mul_dims(2, d.ph)) - 2;
  d.OW = add_dims(d.W, mul_dims(2, d.pw)) - 2;
  if (d.OH < 1 || d.OW < 1)
    throw ShapeError("the 3x3 window is larger than the padded input (x " + shape_str(x) + ", padding " +
                     ints_str({d.ph, d.pw}) + ")");
  d.TH = (d.OH + 1) / 2;
  d.TW = (d.OW + 1) / 2;
  d.tiles = mul_dims(d.TH, d.TW);
  d.HP = add_dims(mul_dims(2, d.TH), 2);
  d.WP = add_dims(mul_dims(2, d.TW), 2);
  return d;
}

WinogradDims winograd_dims(const Shape& x, const Shape& u, const Attrs& attrs) {
  expect_rank(x, 4, "x");
  expect_rank(u, 3, "u");
  for (std::size_t i = 1; i < 4; ++i)
    if (x[i] <= 0) throw ShapeError("x " + shape_str(x) + " must have positive C, H and W");
  if (u[0] != kPositions || u[1] <= 0 || u[2] <= 0)
    throw ShapeError("u " + shape_str(u) + " must be [16, C, F] (winograd_filters' output)");
  if (u[1] != x[1])
    throw ShapeError("x " + shape_str(x) + " has " + std::to_string(x[1]) + " channels but u " + shape_str(u) +
                     " expects " + std::to_string(u[1]));
  Dim ph = 0, pw = 0;
  read_pair(attrs, "padding", ph, pw);
  return winograd_dims_of(x[0], x[1], x[2], x[3], u[2], ph, pw, x);
}

std::vector<Shape> conv2d_winograd_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  const WinogradDims d = winograd_dims(in[0], in[1], attrs);
  if (in[2] != Shape{d.F})
    throw ShapeError("b " + shape_str(in[2]) + " does not match the " + std::to_string(d.F) + " filters of u " +
                     shape_str(in[1]));
  return one_output({d.N, d.F, d.OH, d.OW});
}

std::vector<Shape> winograd_filters_shape(const std::vector<Shape>& in, const Attrs&) {
  const Shape& w = in[0];
  expect_rank(w, 4, "w");
  for (Dim v : w)
    if (v <= 0) throw ShapeError("w " + shape_str(w) + " must have positive dimensions");
  if (w[2] != 3 || w[3] != 3) throw ShapeError("w " + shape_str(w) + " must hold 3x3 filters");
  return one_output({kPositions, w[1], w[0]});
}

// A part's workspace: the image padded, channels last [HP, WP, C]; the transformed blocks
// [16, tiles, C]; the 16 products [16, tiles, F]; and a buffer for the image channels last,
// unpadded [H, W, C], then for the output filters last ([OH, OW, F], or the pool's).
std::size_t part_elems(const WinogradDims& d) {
  const auto s = [](Dim v) { return static_cast<std::size_t>(v); };
  std::size_t n = mul_sizes(mul_sizes(s(d.HP), s(d.WP)), s(d.C));
  n = add_sizes(n, mul_sizes(mul_sizes(s(kPositions), s(d.tiles)), s(d.C)));
  n = add_sizes(n, mul_sizes(mul_sizes(s(kPositions), s(d.tiles)), s(d.F)));
  const std::size_t in = mul_sizes(mul_sizes(s(d.H), s(d.W)), s(d.C)), out = mul_sizes(mul_sizes(s(d.OH), s(d.OW)), s(d.F));
  return add_sizes(n, std::max(in, out));
}

// The workspace of a run over the batch: one part_elems per thread that takes images.
std::size_t run_elems(const WinogradDims& d) {
  const Dim threads = op_threads();
  const Dim work = mul_dims(mul_dims(d.N, d.tiles), mul_dims(kPositions, mul_dims(d.C, d.F)));
  const Dim parts = threads > 1 && d.N > 1 && work >= kConvThreadedWork ? std::min(threads, d.N) : 1;
  return mul_sizes(static_cast<std::size_t>(parts), part_elems(d));
}

std::size_t conv2d_winograd_workspace(const std::vector<Shape>& in, const Attrs& attrs) {
  return run_elems(winograd_dims(in[0], in[1], attrs));
}

// The transforms run on L = 64 / sizeof(T) channels (or filters) at a time, as GCC's
// generic vectors (one zmm on the AVX-512 path, two ymm on AVX2, four xmm otherwise: the
// op's kernels are compiled once per path, ops/op.hpp), and on the rest one at a time:
// the same additions either way, so the same bits. V is T or its vector.
template <class T>
struct Lanes {
  typedef T Vec __attribute__((vector_size(64)));
  static constexpr Dim n = static_cast<Dim>(64 / sizeof(T));
};

template <class V, class T>
inline V load(const T* p) {
  if constexpr (std::is_same_v<V, T>) {
    return *p;
  } else {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
}

template <class V, class T>
inline void store(T* p, const V& v) {
  if constexpr (std::is_same_v<V, T>)
    *p = v;
  else
    std::memcpy(p, &v, sizeof v);
}

template <class V>
inline V relu(const V& x) {
  const V zero{};
  return x > zero ? x : zero;  // relu's own formula (ops/activations.cpp)
}

// The transformed block of one tile for the channels at p (the tile's top-left corner in
// the channels-last image, `row` elements from one image row to the next, C from one column
// to the next): v[k * vk] = (B^T d B)[i, j], k = 4 i + j, with
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
template <class V, class T>
inline void input_tile(const T* p, Dim C, Dim row, T* v, Dim vk) {
  V t[4][4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const V d0 = load<V>(p + j * C), d1 = load<V>(p + row + j * C), d2 = load<V>(p + 2 * row + j * C),
            d3 = load<V>(p + 3 * row + j * C);
    t[0][j] = d0 - d2;
    t[1][j] = d1 + d2;
    t[2][j] = d2 - d1;
    t[3][j] = d1 - d3;
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    store(v + (4 * i + 0) * vk, t[i][0] - t[i][2]);
    store(v + (4 * i + 1) * vk, t[i][1] + t[i][2]);
    store(v + (4 * i + 2) * vk, t[i][2] - t[i][1]);
    store(v + (4 * i + 3) * vk, t[i][1] - t[i][3]);
  }
}

// One tile's output block for the filters at m (m[k * mk] the product at position k) with
// bias b: y[a][e] = (A^T m A)[a, e] + b, A^T = [1 1 1 0; 0 1 -1 -1].
template <class V, class T>
inline void output_tile(const T* m, Dim mk, const T* b, V (&y)[2][2]) {
  V s[2][4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const V m0 = load<V>(m + j * mk), m1 = load<V>(m + (4 + j) * mk), m2 = load<V>(m + (8 + j) * mk),
            m3 = load<V>(m + (12 + j) * mk);
    s[0][j] = m0 + m1 + m2;
    s[1][j] = m1 - m2 - m3;
  }
  const V bias = load<V>(b);
#pragma GCC unroll 2
  for (int a = 0; a < 2; ++a) {
    y[a][0] = s[a][0] + s[a][1] + s[a][2] + bias;
    y[a][1] = s[a][1] - s[a][2] - s[a][3] + bias;
  }
}

// dst[j * ldd + i] = src[i * lds + j] for i < R, j < S. Float: 8x8 blocks in registers,
// each transposed by three rounds of pairing row k with row k + 4 lane by lane (the first
// four lanes of each, then the last four), which is the transpose after the third (eight
// lanes: two-register shuffles that AVX2 has as well as AVX-512); the rest, and double, one
// element at a time.
// Add: dst[j * ldd + i] += src[i * lds + j] instead.
template <bool Add = false, class T>
void transpose(const T* src, Dim R, Dim S, Dim lds, T* dst, Dim ldd) {
  Dim r0 = 0;
  if constexpr (std::is_same_v<T, float>) {
    typedef float Vec8 __attribute__((vector_size(32)));
    for (; r0 + 8 <= R; r0 += 8) {
      Dim s0 = 0;
      for (; s0 + 8 <= S; s0 += 8) {
        Vec8 r[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) r[i] = load<Vec8>(src + (r0 + i) * lds + s0);
#pragma GCC unroll 3
        for (int round = 0; round < 3; ++round) {
          Vec8 n[8];
#pragma GCC unroll 4
          for (int k = 0; k < 4; ++k) {
            n[2 * k] = __builtin_shufflevector(r[k], r[k + 4], 0, 8, 1, 9, 2, 10, 3, 11);
            n[2 * k + 1] = __builtin_shufflevector(r[k], r[k + 4], 4, 12, 5, 13, 6, 14, 7, 15);
          }
#pragma GCC unroll 8
          for (int i = 0; i < 8; ++i) r[i] = n[i];
        }
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) {
          T* o = dst + (s0 + j) * ldd + r0;
          if constexpr (Add)
            store(o, load<Vec8>(o) + r[j]);
          else
            store(o, r[j]);
        }
      }
      for (Dim j = s0; j < S; ++j)
        for (Dim i = r0; i < r0 + 8; ++i) {
          if constexpr (Add)
            dst[j * ldd + i] += src[i * lds + j];
          else
            dst[j * ldd + i] = src[i * lds + j];
        }
    }
  }
  for (Dim i = r0; i < R; ++i)
    for (Dim j = 0; j < S; ++j) {
      if constexpr (Add)
        dst[j * ldd + i] += src[i * lds + j];
      else
        dst[j * ldd + i] = src[i * lds + j];
    }
}

// Where the blocks go: y_n [F, OH, OW] (PlainOutput), or the 2x2 max-pool of their relu
// (PooledOutput, [F, OH / 2, OW / 2]). put_tile writes them filters last into the part's
// buffer, which winograd_image then transposes into place.
template <class T>
struct PlainOutput {
  T* y;
  bool add = false;  // y += the blocks (a gradient that accumulates)
};
template <class T>
struct PooledOutput {
  T* pooled;
};

// Filters f .. f + lanes(V) - 1 of tile (ty, tx) into buf [OH / 2, OW / 2, F].
template <class V, class T>
inline void put_tile(const WinogradDims& d, const T* m, Dim mk, const T* b, Dim ty, Dim tx, Dim f, T* buf,
                     const PooledOutput<T>&) {
  V y[2][2];
  output_tile<V>(m, mk, b, y);
  // Every value is +0 or more and none is NaN: max in any order is exact.
  const V y00 = relu(y[0][0]), y01 = relu(y[0][1]), y10 = relu(y[1][0]), y11 = relu(y[1][1]);
  const V top = y00 > y01 ? y00 : y01, bottom = y10 > y11 ? y10 : y11;
  store(buf + (ty * (d.OW / 2) + tx) * d.F + f, top > bottom ? top : bottom);
}

// Filters f .. f + lanes(V) - 1 of tile (ty, tx) into buf [OH, OW, F].
template <class V, class T>
inline void put_tile(const WinogradDims& d, const T* m, Dim mk, const T* b, Dim ty, Dim tx, Dim f, T* buf,
                     const PlainOutput<T>&) {
  V y[2][2];
  output_tile<V>(m, mk, b, y);
  const Dim oh = 2 * ty, ow = 2 * tx;
  const int rows = oh + 1 < d.OH ? 2 : 1, cols = ow + 1 < d.OW ? 2 : 1;
  for (int a = 0; a < rows; ++a)
    for (int e = 0; e < cols; ++e) store(buf + ((oh + a) * d.OW + ow + e) * d.F + f, y[a][e]);
}

// u[4 i + j, c, f] = (G g G^T)[i, j] for the filters at g (g[e * F] their element e of
// the 3x3 window, as winograd_filters' workspace holds them), G = [1 0 0; 1/2 1/2 1/2;
// 1/2 -1/2 1/2; 0 0 1].
template <class V, class T>
inline void filter_tile(const T* g, Dim F, T* u, Dim CF) {
  V gg[4][3];
#pragma GCC unroll 3
  for (int j = 0; j < 3; ++j) {
    const V g0 = load<V>(g + j * F), g1 = load<V>(g + (3 + j) * F), g2 = load<V>(g + (6 + j) * F);
    gg[0][j] = g0;
    gg[1][j] = (g0 + g1 + g2) * T(0.5);
    gg[2][j] = (g0 - g1 + g2) * T(0.5);
    gg[3][j] = g2;
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const V r0 = gg[i][0], r1 = gg[i][1], r2 = gg[i][2];
    store(u + (4 * i + 0) * CF, r0);
    store(u + (4 * i + 1) * CF, (r0 + r1 + r2) * T(0.5));
    store(u + (4 * i + 2) * CF, (r0 - r1 + r2) * T(0.5));
    store(u + (4 * i + 3) * CF, r2);
  }
}

// w [F, C, 3, 3] -> u [16, C, F], through wt [9 C F]: w with the filters last, [C, 9, F],
// so that the transform runs along contiguous filters. flip: the filters of the data
// gradient instead, the convolution that takes dy to dx: w[f, c] turned by 180 degrees,
// with C filters over F channels, u [16, F, C] (through wt [F, 9, C]).
template <class T>
void transform_filters(const T* w, Dim F, Dim C, bool flip, T* wt, T* u) {
  using Vec = typename Lanes<T>::Vec;
  constexpr Dim L = Lanes<T>::n;
  const Dim channels = flip ? F : C, filters = flip ? C : F, CF = C * F;
  for (Dim f = 0; f < F; ++f)
    for (Dim c = 0; c < C; ++c)
      for (Dim e = 0; e < 9; ++e) {
        const T v = w[(f * C + c) * 9 + e];
        if (flip)
          wt[(f * 9 + 8 - e) * C + c] = v;
        else
          wt[(c * 9 + e) * F + f] = v;
      }
  for (Dim c = 0; c < channels; ++c) {
    const T* g = wt + c * 9 * filters;
    T* uc = u + c * filters;
    Dim f = 0;
    for (; f + L <= filters; f += L) filter_tile<Vec>(g + f, filters, uc + f, CF);
    for (; f < filters; ++f) filter_tile<T>(g + f, filters, uc + f, CF);
  }
}

template <class T>
void winograd_filters_forward(const OpArgs<T>& a) {
  const Dim F = a.in[0].dim(0), C = a.in[0].dim(1);
  if (!a.workspace || a.workspace_size < static_cast<std::size_t>(9 * C * F))
    throw ShapeError("winograd_filters: a workspace of " + std::to_string(a.workspace_size) +
                     " elements does not hold the " + std::to_string(9 * C * F) + " weights");
  transform_filters(a.in[0].data, F, C, false, a.workspace, a.out[0].data);
}

std::size_t winograd_filters_workspace(const std::vector<Shape>& in, const Attrs&) {
  return static_cast<std::size_t>(numel(in[0]));
}

// The part's workspace ws: the padded image xt [HP, WP, C], the transformed blocks
// v [16, tiles, C], the products m [16, tiles, F], and buf (see part_elems).
template <class T>
struct PartBuffers {
  T *xt, *v, *m, *buf;
  PartBuffers(const WinogradDims& d, T* ws)
      : xt(ws), v(xt + d.HP * d.WP * d.C), m(v + kPositions * d.tiles * d.C), buf(m + kPositions * d.tiles * d.F) {}
};

// v [16, tiles, C]: each tile's transformed block of image x_n. `first`: the part's first
// image, which writes the padding's zeros (the others keep them).
// vk: from one position's blocks to the next (the image's tiles times C, or a block's).
template <class T>
void input_transform(const WinogradDims& d, const T* xn, const PartBuffers<T>& p, bool first, Dim vk) {
  using Vec = typename Lanes<T>::Vec;
  constexpr Dim L = Lanes<T>::n;
  const Dim C = d.C, WP = d.WP;
  // Channels last, so that the input transform runs along contiguous channels: x_n [C, HW]
  // transposed into buf, then each image row to its place inside the padding.
  if (first) std::fill(p.xt, p.xt + d.HP * WP * C, T(0));
  transpose(xn, C, d.H * d.W, d.H * d.W, p.buf, C);
  for (Dim h = 0; h < d.H; ++h) std::copy_n(p.buf + h * d.W * C, d.W * C, p.xt + ((h + d.ph) * WP + d.pw) * C);
  const Dim row = WP * C;
  for (Dim ty = 0; ty < d.TH; ++ty)
    for (Dim tx = 0; tx < d.TW; ++tx) {
      const T* t = p.xt + (2 * ty * WP + 2 * tx) * C;
      T* vt = p.v + (ty * d.TW + tx) * C;
      Dim c = 0;
      for (; c + L <= C; c += L) input_tile<Vec>(t + c, C, row, vt + c, vk);
      for (; c < C; ++c) input_tile<T>(t + c, C, row, vt + c, vk);
    }
}

// Image n: y_n (or its pool) from x_n, u and b, in the part's workspace ws.
template <class T, class Out>
void winograd_image(const WinogradDims& d, const T* xn, const T* u, const T* b, T* ws, bool first, const Out& out) {
  using Vec = typename Lanes<T>::Vec;
  constexpr Dim L = Lanes<T>::n;
  const Dim C = d.C, F = d.F, tiles = d.tiles;
  const PartBuffers<T> p(d, ws);
  T* v = p.v;
  T* m = p.m;
  T* buf = p.buf;
  const Dim vk = tiles * C;
  input_transform(d, xn, p, first, vk);

  // m[k] [tiles, F] = v[k] [tiles, C] . u[k] [C, F]: the sum over channels.
  for (Dim k = 0; k < kPositions; ++k)
    gemm<T>(false, false, tiles, F, C, T(1), v + k * vk, u + k * C * F, T(0), m + k * tiles * F);

  // Each tile's block, A^T m A + b, along the filters into buf; then buf transposed to the
  // output, filters first.
  const Dim mk = tiles * F;
  constexpr bool pooled = std::is_same_v<Out, PooledOutput<T>>;
  const Dim TH = pooled ? d.OH / 2 : d.TH, TW = pooled ? d.OW / 2 : d.TW;  // the pool leaves the rest out
  for (Dim ty = 0; ty < TH; ++ty)
    for (Dim tx = 0; tx < TW; ++tx) {
      const T* mt = m + (ty * d.TW + tx) * F;
      Dim f = 0;
      for (; f + L <= F; f += L) put_tile<Vec>(d, mt + f, mk, b + f, ty, tx, f, buf, out);
      for (; f < F; ++f) put_tile<T>(d, mt + f, mk, b + f, ty, tx, f, buf, out);
    }
  if constexpr (pooled) {
    const Dim plane = (d.OH / 2) * (d.OW / 2);
    transpose(buf, plane, F, F, out.pooled, plane);
  } else {
    const Dim plane = d.OH * d.OW;
    if (out.add)
      transpose<true>(buf, plane, F, F, out.y, plane);
    else
      transpose(buf, plane, F, F, out.y, plane);
  }
}

// The images of x split between the parts that ws (ws_size elements) holds (at most
// op_threads()); each image is computed alone, so the bits do not depend on the split.
template <class T, class MakeOut>
void winograd_batch(const WinogradDims& d, const T* x, const T* u, const T* b, T* ws, std::size_t ws_size,
                    const MakeOut& make_out) {
  const std::size_t per_part = part_elems(d);
  if (!ws || ws_size < per_part)
    throw ShapeError("conv2d by Winograd: a workspace of " + std::to_string(ws_size) +
                     " elements is smaller than one image's " + std::to_string(per_part));
  const Dim fit = static_cast<Dim>(ws_size / per_part);
  const int parts = static_cast<int>(std::min<Dim>({fit, d.N, static_cast<Dim>(op_threads())}));
  const Dim chw = d.C * d.H * d.W;
  parallel_parts(parts, [&](int p, int n_parts) {
    T* part = ws + static_cast<std::size_t>(p) * per_part;
    const Dim begin = part_begin(d.N, p, n_parts);
    for (Dim n = begin; n < part_begin(d.N, p + 1, n_parts); ++n)
      winograd_image(d, x + n * chw, u, b, part, n == begin, make_out(n));
  });
}

template <class T, class MakeOut>
void winograd_batch(const OpArgs<T>& a, const WinogradDims& d, const MakeOut& make_out) {
  winograd_batch(d, a.in[0].data, a.in[1].data, a.in[2].data, a.workspace, a.workspace_size, make_out);
}

template <class T>
void conv2d_winograd_forward(const OpArgs<T>& a) {
  const WinogradDims d = winograd_dims(a.in[0].shape, a.in[1].shape, *a.attrs);
  T* y = a.out[0].data;
  const Dim fohw = d.F * d.OH * d.OW;
  winograd_batch(a, d, [&](Dim n) { return PlainOutput<T>{y + n * fohw}; });
}

// then_relu_pool: the pooled output [N, F, OH / 2, OW / 2] straight from the blocks.
template <class T>
void conv2d_winograd_relu_pool_forward(const OpArgs<T>& a) {
  const WinogradDims d = winograd_dims(a.in[0].shape, a.in[1].shape, *a.attrs);
  const Shape& pooled = a.out[0].shape;
  const Dim PH = d.OH / 2, PW = d.OW / 2;
  // Element by element: a Shape to compare with would allocate at every run.
  if (PH < 1 || PW < 1 || pooled.size() != 4 || pooled[0] != d.N || pooled[1] != d.F || pooled[2] != PH ||
      pooled[3] != PW)
    throw ShapeError("conv2d_winograd + relu + max_pool2d: the pooled output " + shape_str(pooled) +
                     " is not a 2x2 stride-2 pool of the convolution's output");
  T* out = a.out[0].data;
  const Dim per_image = d.F * PH * PW;
  winograd_batch(a, d, [&](Dim n) { return PooledOutput<T>{out + n * per_image}; });
}

// ---- the weight gradient by F(2x2, 3x3) ----
//
// y's block is A^T [sum_c U_fc (.) V_c] A with U_fc = G w_fc G^T, an identity in exact
// arithmetic; its adjoint gives the weight gradient: dU_fc = sum over images and tiles of
// (A dY_f A^T) (.) V_c, then dw_fc = G^T dU_fc G. The batch is cut into kGradientChunks
// chunks of images, a number that does not depend on the threads; each chunk sums its own
// dU, block of images after block (the block's transforms, then 16 GEMMs
// dU[k] += V[k]^T [C, block tiles] . M[k] [block tiles, F]), the threads taking whole
// chunks; then the chunks' dU are added in chunk order. So dw has the same bits at any
// thread count (as conv_dw's), and the threads meet once per backward.

// The 4x4 block A dY A^T of one tile for the filters at q (dy filters last, `row` elements
// from one output row to the next, F from one column to the next), dY the tile's 2x2 block
// of dy, zero past the plane's last row (two_rows false) or column: m[k * mk], k = 4 i + j,
// A = [1 0; 1 1; 1 -1; 0 -1]. The adjoint of output_tile.
template <class V, class T>
inline void gradient_tile(const T* q, Dim F, Dim row, bool two_rows, bool two_cols, T* m, Dim mk) {
  const V zero{};
  const V g00 = load<V>(q), g01 = two_cols ? load<V>(q + F) : zero;
  const V g10 = two_rows ? load<V>(q + row) : zero, g11 = two_rows && two_cols ? load<V>(q + row + F) : zero;
  const V r[4][2] = {{g00, g01}, {g00 + g10, g01 + g11}, {g00 - g10, g01 - g11}, {zero - g10, zero - g11}};
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    store(m + (4 * i + 0) * mk, r[i][0]);
    store(m + (4 * i + 1) * mk, r[i][0] + r[i][1]);
    store(m + (4 * i + 2) * mk, r[i][0] - r[i][1]);
    store(m + (4 * i + 3) * mk, zero - r[i][1]);
  }
}

// dw [F, C, 3, 3] (=, or += with add) from dU [16, C, F]: dw_fc = G^T dU_fc G, in double,
// rounded once, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
template <class T>
void filters_gradient(const T* dU, Dim C, Dim F, T* dw, bool add) {
  for (Dim f = 0; f < F; ++f)
    for (Dim c = 0; c < C; ++c) {
      double g[4][4], t[3][4];
      for (int k = 0; k < 16; ++k) g[k / 4][k % 4] = double(dU[(k * C + c) * F + f]);
      for (int j = 0; j < 4; ++j) {
        t[0][j] = g[0][j] + 0.5 * (g[1][j] + g[2][j]);
        t[1][j] = 0.5 * (g[1][j] - g[2][j]);
        t[2][j] = 0.5 * (g[1][j] + g[2][j]) + g[3][j];
      }
      T* out = dw + (f * C + c) * 9;
      for (int i = 0; i < 3; ++i) {
        const double v[3] = {t[i][0] + 0.5 * (t[i][1] + t[i][2]), 0.5 * (t[i][1] - t[i][2]),
                             0.5 * (t[i][1] + t[i][2]) + t[i][3]};
        for (int e = 0; e < 3; ++e) out[3 * i + e] = add ? T(out[3 * i + e] + T(v[e])) : T(v[e]);
      }
    }
}

// Images per block: one GEMM of a position sums over their tiles (the MNIST CNN's second
// convolution has 49 tiles an image: a depth of 392).
constexpr Dim kGradientBlock = 8;
// Chunks of the batch, each with its own dU: as many as the threads a CPU of ours has, or
// twice that; fixed, so that the bits do not depend on the thread count.
constexpr Dim kGradientChunks = 4;

// The weight gradient's workspace: each chunk's dU [16, C, F]; then per thread part (at
// most op_threads(), at most kGradientChunks) a block's V [16, B tiles, C] and
// M [16, B tiles, F], the padded image and the buffer of PartBuffers.
struct GradientLayout {
  Dim block = 0, parts = 0;
  std::size_t dU = 0, v = 0, m = 0, part = 0, total = 0;
};

GradientLayout gradient_layout(const WinogradDims& d, Dim threads) {
  const auto s = [](Dim v) { return static_cast<std::size_t>(v); };
  GradientLayout g;
  g.block = std::min(kGradientBlock, d.N);
  g.parts = std::max<Dim>(1, std::min(threads, kGradientChunks));
  g.dU = mul_sizes(mul_sizes(s(kPositions), s(d.C)), s(d.F));
  const std::size_t block_tiles = mul_sizes(mul_sizes(s(kPositions), s(g.block)), s(d.tiles));
  g.v = mul_sizes(block_tiles, s(d.C));
  g.m = mul_sizes(block_tiles, s(d.F));
  const std::size_t in = mul_sizes(mul_sizes(s(d.H), s(d.W)), s(d.C)), out = mul_sizes(mul_sizes(s(d.OH), s(d.OW)), s(d.F));
  g.part = add_sizes(add_sizes(g.v, g.m), add_sizes(mul_sizes(mul_sizes(s(d.HP), s(d.WP)), s(d.C)), std::max(in, out)));
  g.total = add_sizes(mul_sizes(s(kGradientChunks), g.dU), mul_sizes(s(g.parts), g.part));
  return g;
}

std::size_t dw_run_elems(const WinogradDims& d) { return gradient_layout(d, op_threads()).total; }

// dw of the convolution d (x [N, C, H, W] into dy [N, F, OH, OW]) in ws.
template <class T>
void winograd_weight_gradient(const WinogradDims& d, const T* x, const T* dy, T* ws, std::size_t ws_size, T* dw,
                              bool add) {
  using Vec = typename Lanes<T>::Vec;
  constexpr Dim L = Lanes<T>::n;
  const GradientLayout g = gradient_layout(d, 1);
  if (!ws || ws_size < g.total)
    throw ShapeError("conv2d by Winograd: a workspace of " + std::to_string(ws_size) +
                     " elements is smaller than the weight gradient's " + std::to_string(g.total));
  const std::size_t chunk_dU = kGradientChunks * g.dU;
  const Dim fit = static_cast<Dim>((ws_size - chunk_dU) / g.part);
  const int parts = static_cast<int>(std::min<Dim>({fit, kGradientChunks, static_cast<Dim>(op_threads())}));
  const Dim C = d.C, F = d.F, tiles = d.tiles, CF = C * F;
  const Dim chw = C * d.H * d.W, fohw = F * d.OH * d.OW, vk = g.block * tiles * C, mk = g.block * tiles * F,
            row = d.OW * F;
  parallel_parts(parts, [&](int p, int n_parts) {
    T* part = ws + chunk_dU + static_cast<std::size_t>(p) * g.part;
    T* v = part;
    T* m = v + g.v;
    PartBuffers<T> pb(d, m + g.m);
    pb.buf = pb.xt + d.HP * d.WP * C;
    bool first_image = true;
    for (Dim c = part_begin(kGradientChunks, p, n_parts); c < part_begin(kGradientChunks, p + 1, n_parts); ++c) {
      T* dU = ws + static_cast<std::size_t>(c) * g.dU;
      const Dim begin = part_begin(d.N, c, kGradientChunks), end = part_begin(d.N, c + 1, kGradientChunks);
      if (begin == end) std::fill(dU, dU + kPositions * CF, T(0));
      for (Dim n0 = begin; n0 < end; n0 += g.block) {
        const Dim images = std::min(g.block, end - n0);
        for (Dim i = 0; i < images; ++i) {
          pb.v = v + i * tiles * C;
          input_transform(d, x + (n0 + i) * chw, pb, first_image, vk);
          first_image = false;
          transpose(dy + (n0 + i) * fohw, F, d.OH * d.OW, d.OH * d.OW, pb.buf, F);  // dy_n filters last
          for (Dim ty = 0; ty < d.TH; ++ty)
            for (Dim tx = 0; tx < d.TW; ++tx) {
              const T* q = pb.buf + (2 * ty * d.OW + 2 * tx) * F;
              const bool two_rows = 2 * ty + 1 < d.OH, two_cols = 2 * tx + 1 < d.OW;
              T* mt = m + (i * tiles + ty * d.TW + tx) * F;
              Dim f = 0;
              for (; f + L <= F; f += L) gradient_tile<Vec>(q + f, F, row, two_rows, two_cols, mt + f, mk);
              for (; f < F; ++f) gradient_tile<T>(q + f, F, row, two_rows, two_cols, mt + f, mk);
            }
        }
        const T beta = n0 == begin ? T(0) : T(1);
        for (Dim k = 0; k < kPositions; ++k)
          gemm<T>(true, false, C, F, images * tiles, T(1), v + k * vk, m + k * mk, beta, dU + k * CF);
      }
    }
  });
  for (Dim c = 1; c < kGradientChunks; ++c) {
    const T* other = ws + static_cast<std::size_t>(c) * g.dU;
    for (Dim i = 0; i < kPositions * CF; ++i) ws[i] += other[i];
  }
  filters_gradient(ws, C, F, dw, add);
}

// ---- conv2d_by_winograd, conv2d_nobias_by_winograd: the training plans' convolutions ----
//
// Workspace: u [16, C, F] (or the data gradient's [16, F, C]); wt [9 C F], the weights
// reordered for the transform; max(C, F) zeros, the bias of the passes that have none; then
// the run's parts: the forward's and dx's (run_elems), or dw's (gradient_layout), after
// the filters and zeros; the backward runs dw, then dx in the same memory.

struct TrainDims {
  WinogradDims fwd;  // x into y
  WinogradDims dx;   // dy into dx: C filters over F channels, padding 2 - p
  Dim C = 0, F = 0;
};

TrainDims train_dims(const Shape& x, const Shape& w, const Attrs& attrs) {
  expect_rank(x, 4, "x");
  expect_rank(w, 4, "w");
  if (w[2] != 3 || w[3] != 3 || w[1] != x[1])
    throw ShapeError("conv2d by Winograd: w " + shape_str(w) + " must hold 3x3 filters over the " +
                     std::to_string(x[1]) + " channels of x " + shape_str(x));
  Dim sh = 0, sw = 0, ph = 0, pw = 0;
  read_pair(attrs, "stride", sh, sw);
  read_pair(attrs, "padding", ph, pw);
  if (sh != 1 || sw != 1 || ph > 2 || pw > 2)
    throw ShapeError("conv2d by Winograd: stride " + ints_str({sh, sw}) + " and padding " + ints_str({ph, pw}) +
                     " are not stride 1 with padding 2 or less");
  TrainDims t;
  t.C = x[1];
  t.F = w[0];
  t.fwd = winograd_dims_of(x[0], x[1], x[2], x[3], w[0], ph, pw, x);
  t.dx = winograd_dims_of(x[0], w[0], t.fwd.OH, t.fwd.OW, x[1], 2 - ph, 2 - pw, x);
  return t;
}

// Where the run's parts start in the workspace.
std::size_t train_run_offset(const TrainDims& t) {
  const auto s = [](Dim v) { return static_cast<std::size_t>(v); };
  return add_sizes(mul_sizes(25, mul_sizes(s(t.C), s(t.F))), s(std::max(t.C, t.F)));
}

template <bool HasBias>
std::vector<Shape> by_winograd_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  std::vector<Shape> out = (HasBias ? conv2d_op() : conv2d_nobias_op()).shape(in, attrs);
  train_dims(in[0], in[1], attrs);
  return out;
}

template <bool HasBias>
std::size_t by_winograd_workspace(const std::vector<Shape>& in, const Attrs& attrs) {
  const TrainDims t = train_dims(in[0], in[1], attrs);
  return add_sizes(train_run_offset(t), std::max({run_elems(t.fwd), run_elems(t.dx), dw_run_elems(t.fwd)}));
}

// The filters (flip: the data gradient's) transformed into the workspace, and the zero bias;
// returns the run's part of the workspace.
template <class T>
T* prepare(const OpArgs<T>& a, const TrainDims& t, bool flip, std::size_t& run_size) {
  const std::size_t offset = train_run_offset(t);
  if (!a.workspace || a.workspace_size <= offset)
    throw ShapeError("conv2d by Winograd: a workspace of " + std::to_string(a.workspace_size) +
                     " elements does not hold the transformed filters");
  T* u = a.workspace;
  T* wt = u + kPositions * t.C * t.F;
  T* zeros = wt + 9 * t.C * t.F;
  transform_filters(a.in[1].data, t.F, t.C, flip, wt, u);
  std::fill(zeros, zeros + std::max(t.C, t.F), T(0));
  run_size = a.workspace_size - offset;
  return a.workspace + offset;
}

// y = conv2d(x, w, b) (b = 0 without a bias), by F(2x2, 3x3).
template <class T, bool HasBias>
void by_winograd_forward(const OpArgs<T>& a) {
  const TrainDims t = train_dims(a.in[0].shape, a.in[1].shape, *a.attrs);
  std::size_t run_size = 0;
  T* run = prepare(a, t, false, run_size);
  const T* u = a.workspace;
  const T* b = HasBias ? a.in[2].data : u + 25 * t.C * t.F;
  T* y = a.out[0].data;
  const Dim fohw = t.F * t.fwd.OH * t.fwd.OW;
  winograd_batch(t.fwd, a.in[0].data, u, b, run, run_size, [&](Dim n) { return PlainOutput<T>{y + n * fohw}; });
}

// db: conv2d's kernel. dw: winograd_weight_gradient. dx: the convolution of dy, padded by
// 2 - p, with the filters turned by 180 degrees and their two leading axes swapped,
// dx_c = sum_f dy_f * rot180(w_fc), by F(2x2, 3x3) too.
template <class T, bool HasBias>
void by_winograd_backward(const OpArgs<T>& a) {
  if (HasBias && a.d_in[2]) conv2d_bias_gradient_kernels<T>().backward(a);
  const TrainDims t = train_dims(a.in[0].shape, a.in[1].shape, *a.attrs);
  const T* dy = a.d_out[0].data;
  if (a.d_in[1]) {
    const std::size_t offset = train_run_offset(t);
    if (!a.workspace || a.workspace_size <= offset)
      throw ShapeError("conv2d by Winograd: a workspace of " + std::to_string(a.workspace_size) +
                       " elements does not hold the transformed filters");
    winograd_weight_gradient(t.fwd, a.in[0].data, dy, a.workspace + offset, a.workspace_size - offset,
                             a.d_in[1].data, a.accumulates(1));
  }
  if (!a.d_in[0]) return;
  std::size_t run_size = 0;
  T* run = prepare(a, t, true, run_size);
  const T* u = a.workspace;
  const T* zeros = u + 25 * t.C * t.F;
  T* dx = a.d_in[0].data;
  const Dim chw = t.C * t.fwd.H * t.fwd.W;
  const bool add = a.accumulates(0);
  winograd_batch(t.dx, dy, u, zeros, run, run_size,
                 [&](Dim n) { return PlainOutput<T>{dx + n * chw, add}; });
}

template <bool HasBias>
OpDef by_winograd_def(const char* name) {
  OpDef d;
  const OpDef& direct = HasBias ? conv2d_op() : conv2d_nobias_op();
  d.name = name;
  d.inputs = direct.inputs;
  d.outputs = direct.outputs;
  d.attrs = direct.attrs;
  d.shape = by_winograd_shape<HasBias>;
  d.differentiable = direct.differentiable;
  d.backward_reads_in = direct.backward_reads_in;
  d.backward_reads_out = direct.backward_reads_out;
  d.workspace = by_winograd_workspace<HasBias>;
  d.f32 = dispatch_kernels<float, &by_winograd_forward<float, HasBias>, &by_winograd_backward<float, HasBias>>();
  d.f64 = dispatch_kernels<double, &by_winograd_forward<double, HasBias>, &by_winograd_backward<double, HasBias>>();
  return d;
}

OpDef winograd_filters_def() {
  OpDef d;
  d.name = "winograd_filters";
  d.inputs = {"w"};
  d.outputs = {"u"};
  d.shape = winograd_filters_shape;
  // No gradient rule: the planner uses it in inference plans only. Marked differentiable
  // so that a graph which would need one is a GraphError naming the op (build_backward).
  d.differentiable = {true};
  d.backward_reads_in = {false};
  d.backward_reads_out = {false};
  d.workspace = winograd_filters_workspace;
  d.f32 = dispatch_kernels<float, &winograd_filters_forward<float>, nullptr>();
  d.f64 = dispatch_kernels<double, &winograd_filters_forward<double>, nullptr>();
  return d;
}

OpDef conv2d_winograd_def() {
  OpDef d;
  d.name = "conv2d_winograd";
  d.inputs = {"x", "u", "b"};
  d.outputs = {"y"};
  d.attrs = {{"padding", AttrType::Ints, false, std::vector<std::int64_t>{0, 0}}};
  d.shape = conv2d_winograd_shape;
  d.differentiable = {true, true, true};  // see winograd_filters_def
  d.backward_reads_in = {false, false, false};
  d.backward_reads_out = {false};
  d.workspace = conv2d_winograd_workspace;
  d.f32 = dispatch_kernels<float, &conv2d_winograd_forward<float>, nullptr>();
  d.f64 = dispatch_kernels<double, &conv2d_winograd_forward<double>, nullptr>();
  d.then_relu_pool.f32 = dispatch_kernels<float, &conv2d_winograd_relu_pool_forward<float>, nullptr>();
  d.then_relu_pool.f64 = dispatch_kernels<double, &conv2d_winograd_relu_pool_forward<double>, nullptr>();
  d.then_relu_pool.workspace = conv2d_winograd_workspace;
  return d;
}

}  // namespace

const OpDef& winograd_filters_op() {
  static const OpDef def = winograd_filters_def();
  return def;
}

const OpDef& conv2d_winograd_op() {
  static const OpDef def = conv2d_winograd_def();
  return def;
}

const OpDef& conv2d_by_winograd_op() {
  static const OpDef def = by_winograd_def<true>("conv2d_by_winograd");
  return def;
}

const OpDef& conv2d_nobias_by_winograd_op() {
  static const OpDef def = by_winograd_def<false>("conv2d_nobias_by_winograd");
  return def;
}

bool winograd_trains(const Shape& x, const Shape& w, const Attrs& conv_attrs) {
  if (!winograd_applies(x, w, conv_attrs)) return false;
  Dim ph = 0, pw = 0;
  read_pair(conv_attrs, "padding", ph, pw);
  return ph <= 2 && pw <= 2;
}

bool winograd_applies(const Shape& x, const Shape& w, const Attrs& conv_attrs) {
  if (x.size() != 4 || w.size() != 4 || w[2] != 3 || w[3] != 3) return false;
  if (w[0] < kWinogradMinChannels || w[1] < kWinogradMinChannels) return false;
  Dim sh = 0, sw = 0, ph = 0, pw = 0;
  read_pair(conv_attrs, "stride", sh, sw);
  read_pair(conv_attrs, "padding", ph, pw);
  if (sh != 1 || sw != 1 || x[0] <= 0) return false;
  const Dim OH = x[2] + 2 * ph - 2, OW = x[3] + 2 * pw - 2;
  return OH > 0 && OW > 0 && x[0] * OH * OW >= kWinogradMinOutputs;
}

}  // namespace plangrad
