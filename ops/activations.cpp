#include "ops/activations.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

// GCC 12 warns inside its own AVX-512 intrinsics once they are inlined (the undefined
// pass-through operand of _mm512_undefined_ps; GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <xsimd/xsimd.hpp>

#include "kernels/bias_rows.hpp"
#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

// y[i] = f(x[i]) with f written on xsimd batches (as wide as the build's flags). The
// tail goes through the same batch function from a padded copy, so every element gets
// the same formula, whatever its position: results do not depend on the tensor's length.
template <class T, class F>
void map_batches(const T* x, T* y, std::size_t n, F&& f) {
  using Batch = xsimd::batch<T>;
  constexpr std::size_t W = Batch::size;
  std::size_t i = 0;
  for (; i + W <= n; i += W) f(Batch::load_unaligned(x + i)).store_unaligned(y + i);
  if (i < n) {
    T tail[W] = {};
    std::copy(x + i, x + n, tail);
    f(Batch::load_unaligned(tail)).store_unaligned(tail);
    std::copy(tail, tail + (n - i), y + i);
  }
}

// exp, sigmoid and tanh in float as plain arithmetic on one element (Cephes' expf and
// tanhf), which the compiler vectorizes at each kernel path's width: the same bits on every
// path, since nothing is fused into an FMA. (xsimd's batches have the build's width, SSE2
// in the default build, and its FMA use differs between paths.) Double keeps xsimd.
//
// exp: x = n ln2 + r with |r| <= ln2/2, exp(r) by a polynomial, 2^n built from exponent
// bits. 0 below -87.6 (where 2^n would be subnormal), +inf above 88 (past the range
// where n fits an exponent).
inline float exp_float(float x) {
  const float xc = x < -87.6f ? -87.6f : x > 88.0f ? 88.0f : x;
  const float t = xc * 1.44269504088896341f + 12582912.0f;  // round(x log2 e) + 1.5 * 2^23
  const float n = t - 12582912.0f;
  const float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;  // ln 2 in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  std::uint32_t bits;
  std::memcpy(&bits, &t, sizeof bits);  // t's low mantissa bits hold n (unsigned: NaN wraps)
  const std::uint32_t scale_bits = (bits - 0x4B400000u + 127u) << 23;
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  const float y = e * scale;
  return x > 88.0f ? std::numeric_limits<float>::infinity() : x < -87.6f ? 0.0f : y;
}

inline float sigmoid_float(float x) { return 1.0f / (1.0f + exp_float(-x)); }

// x + x^3 P(x^2) below 0.625 in magnitude, where 1 - 2 / (exp(2|x|) + 1) would cancel.
inline float tanh_float(float x) {
  const float ax = std::abs(x);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  const float large = 1.0f - 2.0f / (exp_float(ax + ax) + 1.0f);
  return ax < 0.625f ? small : x < 0.0f ? -large : large;
}

std::vector<Shape> same_shape(const std::vector<Shape>& in, const Attrs&) { return one_output(in[0]); }

// An activation is two functions: map (y[i] = f(x[i]) over an array) and grad (dx from y
// and dy). The kernels below (plain, and fused with the add_bias before it) are built
// from them, so both forms compute every element with the same formula.

// y = max(x, 0)  =>  dx = dy * [y > 0]   (the gradient at x == 0 is taken as 0)
struct Relu {
  template <class T>
  static void map(const T* x, T* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
  }
  template <class T>
  static T grad(T y, T dy) { return y > T(0) ? dy : T(0); }
};

// y = 1 / (1 + exp(-x))  =>  dx = dy * y * (1 - y)
struct Sigmoid {
  template <class T>
  static void map(const T* x, T* y, std::size_t n) {
    if constexpr (std::is_same_v<T, float>) {
      for (std::size_t i = 0; i < n; ++i) y[i] = sigmoid_float(x[i]);
    } else {
      map_batches(x, y, n, [](const xsimd::batch<T>& v) {
        const xsimd::batch<T> one(T(1));
        return one / (one + xsimd::exp(-v));
      });
    }
  }
  template <class T>
  static T grad(T y, T dy) { return dy * y * (T(1) - y); }
};

// y = tanh(x)  =>  dx = dy * (1 - y^2)
struct Tanh {
  template <class T>
  static void map(const T* x, T* y, std::size_t n) {
    if constexpr (std::is_same_v<T, float>) {
      for (std::size_t i = 0; i < n; ++i) y[i] = tanh_float(x[i]);
    } else {
      map_batches(x, y, n, [](const xsimd::batch<T>& v) { return xsimd::tanh(v); });
    }
  }
  template <class T>
  static T grad(T y, T dy) { return dy * (T(1) - y * y); }
};

// x[n] -> y[n]
template <class Act, class T>
void act_forward(const OpArgs<T>& a) {
  Act::map(a.in[0].data, a.out[0].data, a.out[0].size());
}
template <class Act, class T>
void act_backward(const OpArgs<T>& a) {
  const T* y = a.out[0].data;
  const T* dy = a.d_out[0].data;
  write_grad(a.d_in[0], a.accumulates(0), [=](std::size_t i) { return Act::grad(y[i], dy[i]); });
}

// Fused with the add_bias before it (OpDef::after_bias): x[R,F], b[F] -> y = f(x + b),
// a block of rows at a time through a local array, so z = x + b never goes to memory.
template <class Act, class T>
void bias_act_forward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  const std::size_t F = static_cast<std::size_t>(a.in[1].dim(0)), R = a.out[0].size() / F;
  T z[bias_rows::kChunk];
  bias_rows::forward(a.in[1].data, R, F, [&](std::size_t at, std::size_t rows, std::size_t n, const T* bias) {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t f = 0; f < n; ++f) z[r * n + f] = x[at + r * n + f] + bias[f];
    Act::map(z, y + at, rows * n);
  });
}
// dz = grad(y, dy);  dx = dz,  db[f] = sum_r dz[r,f]: one pass over y and dy a block of rows
// at a time, the block's dz still in L1 when its column sums read it. dz is formed in a
// loop of its own before it is added anywhere, as in the two separate steps (one
// expression each way, so the compiler contracts it alike).
template <class Act, class T>
void bias_act_backward(const OpArgs<T>& a) {
  const T* y = a.out[0].data;
  const T* dy = a.d_out[0].data;
  if (!a.d_in[1]) {  // no bias gradient wanted: dx = dz, the activation's own rule
    if (a.d_in[0]) act_backward<Act>(a);
    return;
  }
  const bool add_x = a.accumulates(0);
  T* dx = a.d_in[0].data;  // may be null (x needs no gradient), may be dy's memory
  const std::size_t F = a.d_in[1].size(), R = a.d_out[0].size() / F;
  T dz[bias_rows::kChunk];
  bias_rows::column_sums(a.d_in[1].data, a.accumulates(1), R, F, [&](std::size_t at, std::size_t rows, std::size_t n) {
    // dz goes straight into dx when dx is overwritten, else into the local array.
    const std::size_t len = rows * n;
    T* g = dx && !add_x ? dx + at : dz;
    for (std::size_t i = 0; i < len; ++i) g[i] = Act::grad(y[at + i], dy[at + i]);
    if (dx && add_x)
      for (std::size_t i = 0; i < len; ++i) dx[at + i] += dz[i];
    return static_cast<const T*>(g);
  });
}

// Every activation here has a backward that reads only its output y, so the planner may
// run it in place (y over x) and write dx over dy.
template <class Act>
OpDef activation(const char* name) {
  OpDef d;
  d.name = name;
  d.inputs = {"x"};
  d.outputs = {"y"};
  d.shape = same_shape;
  d.differentiable = {true};
  d.backward_reads_in = {false};
  d.backward_reads_out = {true};
  d.inplace = true;
  d.backward_inplace = true;
  d.f32 = dispatch_kernels<float, &act_forward<Act, float>, &act_backward<Act, float>>();
  d.f64 = dispatch_kernels<double, &act_forward<Act, double>, &act_backward<Act, double>>();
  d.after_bias.f32 = dispatch_kernels<float, &bias_act_forward<Act, float>, &bias_act_backward<Act, float>>();
  d.after_bias.f64 = dispatch_kernels<double, &bias_act_forward<Act, double>, &bias_act_backward<Act, double>>();
  return d;
}

}  // namespace

const OpDef& relu_op() {
  static const OpDef def = activation<Relu>("relu");
  return def;
}

const OpDef& sigmoid_op() {
  static const OpDef def = activation<Sigmoid>("sigmoid");
  return def;
}

const OpDef& tanh_op() {
  static const OpDef def = activation<Tanh>("tanh");
  return def;
}

}  // namespace plangrad
