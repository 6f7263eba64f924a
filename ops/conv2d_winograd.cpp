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
  WinogradDims d;
  d.N = x[0];
  d.C = x[1];
  d.H = x[2];
  d.W = x[3];
  d.F = u[2];
  read_pair(attrs, "padding", d.ph, d.pw);
  if (d.ph < 0 || d.pw < 0) throw ShapeError("padding " + ints_str({d.ph, d.pw}) + " must not be negative");
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

// Below this many multiply-adds a batch is not worth splitting between threads.
constexpr Dim kThreadedWork = Dim(1) << 21;

std::size_t conv2d_winograd_workspace(const std::vector<Shape>& in, const Attrs& attrs) {
  const WinogradDims d = winograd_dims(in[0], in[1], attrs);
  const Dim threads = op_threads();
  const Dim work = mul_dims(mul_dims(d.N, d.tiles), mul_dims(kPositions, mul_dims(d.C, d.F)));
  const Dim parts = threads > 1 && d.N > 1 && work >= kThreadedWork ? std::min(threads, d.N) : 1;
  return mul_sizes(static_cast<std::size_t>(parts), part_elems(d));
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
template <class T>
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
        for (int j = 0; j < 8; ++j) store(dst + (s0 + j) * ldd + r0, r[j]);
      }
      for (Dim j = s0; j < S; ++j)
        for (Dim i = r0; i < r0 + 8; ++i) dst[j * ldd + i] = src[i * lds + j];
    }
  }
  for (Dim i = r0; i < R; ++i)
    for (Dim j = 0; j < S; ++j) dst[j * ldd + i] = src[i * lds + j];
}

// Where the blocks go: y_n [F, OH, OW] (PlainOutput), or the 2x2 max-pool of their relu
// (PooledOutput, [F, OH / 2, OW / 2]). put_tile writes them filters last into the part's
// buffer, which winograd_image then transposes into place.
template <class T>
struct PlainOutput {
  T* y;
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

// w [F, C, 3, 3] -> u [16, C, F], through the workspace: w with the filters last,
// [C, 9, F], so that the transform runs along contiguous filters.
template <class T>
void winograd_filters_forward(const OpArgs<T>& a) {
  using Vec = typename Lanes<T>::Vec;
  constexpr Dim L = Lanes<T>::n;
  const T* w = a.in[0].data;
  T* u = a.out[0].data;
  const Dim F = a.in[0].dim(0), C = a.in[0].dim(1), CF = C * F;
  if (!a.workspace || a.workspace_size < static_cast<std::size_t>(9 * CF))
    throw ShapeError("winograd_filters: a workspace of " + std::to_string(a.workspace_size) +
                     " elements does not hold the " + std::to_string(9 * CF) + " weights");
  T* wt = a.workspace;
  for (Dim f = 0; f < F; ++f)
    for (Dim ce = 0; ce < 9 * C; ++ce) wt[ce * F + f] = w[f * 9 * C + ce];
  for (Dim c = 0; c < C; ++c) {
    const T* g = wt + c * 9 * F;
    T* uc = u + c * F;
    Dim f = 0;
    for (; f + L <= F; f += L) filter_tile<Vec>(g + f, F, uc + f, CF);
    for (; f < F; ++f) filter_tile<T>(g + f, F, uc + f, CF);
  }
}

std::size_t winograd_filters_workspace(const std::vector<Shape>& in, const Attrs&) {
  return static_cast<std::size_t>(numel(in[0]));
}

// Image n: y_n (or its pool) from x_n, u and b, in the part's workspace ws. `first`: the
// part's first image, which writes the padding's zeros (the others keep them).
template <class T, class Out>
void winograd_image(const WinogradDims& d, const T* xn, const T* u, const T* b, T* ws, bool first, const Out& out) {
  using Vec = typename Lanes<T>::Vec;
  constexpr Dim L = Lanes<T>::n;
  const Dim C = d.C, F = d.F, tiles = d.tiles, WP = d.WP;
  T* xt = ws;
  T* v = xt + d.HP * WP * C;
  T* m = v + kPositions * tiles * C;
  T* buf = m + kPositions * tiles * F;

  // Channels last, so that the input transform runs along contiguous channels: x_n [C, HW]
  // transposed into buf, then each image row to its place inside the padding.
  if (first) std::fill(xt, xt + d.HP * WP * C, T(0));
  transpose(xn, C, d.H * d.W, d.H * d.W, buf, C);
  for (Dim h = 0; h < d.H; ++h) std::copy_n(buf + h * d.W * C, d.W * C, xt + ((h + d.ph) * WP + d.pw) * C);

  // v [16, tiles, C]: each tile's transformed block.
  const Dim vk = tiles * C, row = WP * C;
  for (Dim ty = 0; ty < d.TH; ++ty)
    for (Dim tx = 0; tx < d.TW; ++tx) {
      const T* p = xt + (2 * ty * WP + 2 * tx) * C;
      T* vt = v + (ty * d.TW + tx) * C;
      Dim c = 0;
      for (; c + L <= C; c += L) input_tile<Vec>(p + c, C, row, vt + c, vk);
      for (; c < C; ++c) input_tile<T>(p + c, C, row, vt + c, vk);
    }

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
    transpose(buf, plane, F, F, out.y, plane);
  }
}

// The images split between the parts the workspace holds (at most op_threads()); each
// image is computed alone, so the bits do not depend on the split.
template <class T, class MakeOut>
void winograd_batch(const OpArgs<T>& a, const WinogradDims& d, const MakeOut& make_out) {
  const std::size_t per_part = part_elems(d);
  if (!a.workspace || a.workspace_size < per_part)
    throw ShapeError("conv2d_winograd: a workspace of " + std::to_string(a.workspace_size) +
                     " elements is smaller than one image's " + std::to_string(per_part));
  const Dim fit = static_cast<Dim>(a.workspace_size / per_part);
  const int parts = static_cast<int>(std::min<Dim>({fit, d.N, static_cast<Dim>(op_threads())}));
  const T* x = a.in[0].data;
  const T* u = a.in[1].data;
  const T* b = a.in[2].data;
  const Dim chw = d.C * d.H * d.W;
  parallel_parts(parts, [&](int p, int n_parts) {
    T* ws = a.workspace + static_cast<std::size_t>(p) * per_part;
    const Dim begin = part_begin(d.N, p, n_parts);
    for (Dim n = begin; n < part_begin(d.N, p + 1, n_parts); ++n)
      winograd_image(d, x + n * chw, u, b, ws, n == begin, make_out(n));
  });
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
