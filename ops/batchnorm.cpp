#include "ops/batchnorm.hpp"

#include <algorithm>
#include <cmath>

#include "core/checked.hpp"
#include "ops/batch_stats.hpp"
#include "ops/kernel_util.hpp"
#include "ops/pool_2x2.hpp"
#include "kernels/parallel.hpp"

namespace plangrad {

namespace {
BatchStatsSum* g_batch_stats_sum = nullptr;
}  // namespace
void set_batch_stats_sum(BatchStatsSum* sum) { g_batch_stats_sum = sum; }
BatchStatsSum* batch_stats_sum() { return g_batch_stats_sum; }

namespace {

// x viewed as [N, C, S]: S = H*W for images, 1 for [N, C]. Channel c holds M = N*S values,
// x[n, c, s] at (n*C + c)*S + s.
struct BnDims {
  Dim N = 0, C = 0, S = 1;
};

BnDims bn_dims(const Shape& x) {
  if (x.size() != 2 && x.size() != 4)
    throw ShapeError("x must be [N, C] or [N, C, H, W], got " + shape_str(x));
  BnDims d;
  d.N = x[0];
  d.C = x[1];
  for (std::size_t i = 1; i < x.size(); ++i)
    if (x[i] <= 0) throw ShapeError("x " + shape_str(x) + " must have positive C (and H, W)");
  for (std::size_t i = 2; i < x.size(); ++i) d.S = mul_dims(d.S, x[i]);
  return d;
}

std::vector<Shape> batchnorm_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  const BnDims d = bn_dims(in[0]);
  static const char* const roles[] = {"x", "gamma", "beta", "running_mean", "running_var"};
  for (std::size_t i = 1; i < 5; ++i)
    if (in[i] != Shape{d.C})
      throw ShapeError(std::string(roles[i]) + " " + shape_str(in[i]) + " does not match the " +
                       std::to_string(d.C) + " channels of x " + shape_str(in[0]));
  const double eps = attrs.get_float("eps"), momentum = attrs.get_float("momentum");
  // The kernels run in float as well as double: an eps that float rounds to 0 (or to a
  // subnormal, or to infinity) would divide by zero where the double check passed.
  if (!(eps > 0.0))
    throw ShapeError("attribute 'eps' must be positive, got " + std::to_string(eps));
  if (!std::isnormal(static_cast<float>(eps)))
    throw ShapeError("attribute 'eps' must be a normal float, the precision models run in, got " + attr_str(eps));
  if (!(momentum >= 0.0 && momentum <= 1.0))
    throw ShapeError("attribute 'momentum' must be in [0, 1], got " + std::to_string(momentum));
  return one_output(in[0]);
}

// A running variance is a variance: a negative one would make Eval mode take the square
// root of a negative number.
std::string batchnorm_check_data(std::size_t input, const float* data, std::size_t n) {
  if (input != 4) return "";
  for (std::size_t c = 0; c < n; ++c)
    if (!(data[c] >= 0.0f))
      return "running_var[" + std::to_string(c) + "] = " + std::to_string(data[c]) + " is negative";
  return "";
}

// saved[0, C): the mean used per channel; saved[C, 2C): the inv_std used.
std::size_t batchnorm_saved(const std::vector<Shape>& in, const Attrs&) {
  return 2 * static_cast<std::size_t>(bn_dims(in[0]).C);
}

// The channel reductions below are the kernels' cost. The plain sum of a strided loop is
// serial (each add waits for the previous), so:
// - [N, C] (S = 1): n outer, c inner, with a per-channel accumulator array (saved, or the
//   dgamma/dbeta outputs): the adds of one n are independent across channels, and each
//   channel still sums in the order n = 0, 1, ... (the same rounding as a serial loop).
// - [N, C, S]: L independent partial sums in double, element s of each contiguous run of S
//   values into lane s mod L, the lanes combined in one fixed tree (lanes_total). The lanes
//   are explicit, so every vector width (and the scalar path) does the same adds in the
//   same order; L = 32 keeps enough adds in flight to hide their latency at every width,
//   16 each when two sums share one pass. Double: a channel of a CNN holds N*H*W values,
//   and a float sum of that many drifts enough to move the gradients of every layer before
//   the batchnorm (tests/test_precision.cpp). PyTorch's CPU kernel sums in double as well.

// sum_{n,s} f(i) over channel c of x viewed as [N, C, S], i the flat index, in double.
// f reads x: the next image's run of channel c, C*S values further on, is requested one run
// ahead (the hardware's prefetcher does not guess at each jump).
template <class T, class F>
double channel_sum(const BnDims& d, Dim c, const T* x, F f) {
  constexpr int L = 32;
  double lane[L] = {};
  const Dim S_main = d.S - d.S % L;
  for (Dim n = 0; n < d.N; ++n) {
    const Dim base = (n * d.C + c) * d.S;
    const Dim next = n + 1 < d.N ? base + d.C * d.S : base;
    for (Dim s = 0; s < S_main; s += L) {
      __builtin_prefetch(x + next + s);
      __builtin_prefetch(x + next + s + 16);
      for (Dim l = 0; l < L; ++l) lane[l] += static_cast<double>(f(base + s + l));
    }
    for (Dim s = S_main; s < d.S; ++s) lane[s - S_main] += static_cast<double>(f(base + s));
  }
  return lanes_total(lane);
}

// Two such sums over one pass (the backward's sum dy and sum dy xhat), each with 16 lanes.
// f and g read pa and pb, prefetched as in channel_sum; before(n) runs before image n's
// run is read (the fused step writes dy's run there).
template <class T, class F, class G, class Before>
void channel_sum2(const BnDims& d, Dim c, const T* pa, const T* pb, F f, G g, double& sum_f, double& sum_g,
                  Before before) {
  constexpr int L = 16;
  double lf[L] = {}, lg[L] = {};
  const Dim S_main = d.S - d.S % L;
  for (Dim n = 0; n < d.N; ++n) {
    const Dim base = (n * d.C + c) * d.S;
    const Dim next = n + 1 < d.N ? base + d.C * d.S : base;
    before(n);
    for (Dim s = 0; s < S_main; s += L) {
      __builtin_prefetch(pa + next + s);
      __builtin_prefetch(pb + next + s);
      for (Dim l = 0; l < L; ++l) {
        lf[l] += static_cast<double>(f(base + s + l));
        lg[l] += static_cast<double>(g(base + s + l));
      }
    }
    for (Dim s = S_main; s < d.S; ++s) {
      lf[s - S_main] += static_cast<double>(f(base + s));
      lg[s - S_main] += static_cast<double>(g(base + s));
    }
  }
  sum_f = lanes_total(lf);
  sum_g = lanes_total(lg);
}

// f(c0, c1) over the channels [c0, c1), shared channel by channel between op_threads()
// threads when x is large: each channel is computed on its own, so the split does not
// change any bit.
template <class F>
void for_channels(const BnDims& d, const F& f) {
  parallel_chunks(threads_for_elements(d.N * d.C * d.S), d.C, 1, f);
}

// Synchronized batchnorm (ops/batch_stats.hpp): the one-process formulas below, with the
// per-channel sums and the count M summed across ranks before they are used. The sums are
// kept in double in a buffer of this thread's that grows to the widest layer once.
double* sync_buffer(std::size_t n) {
  static thread_local std::vector<double> buffer;
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

// The lines of the run [p, p + n) that a loop will write next, asked for ahead of the loop
// that writes them (the stores of a channel jump by C*S at each image).
template <class T>
void prefetch_run(T* p, Dim n) {
  for (Dim s = 0; s < n; s += 64 / Dim(sizeof(T))) __builtin_prefetch(p + s, 1);
}

// Where the forward puts y: in memory (plain batchnorm), or, in the fused step, into a
// buffer that the relu + max-pool reads (PooledY below). One run (n, c) of S values at a
// time; y may alias x.
template <class T>
struct YInMemory {
  static constexpr bool kInMemory = true;
  struct Scratch {};
  const YInMemory& with(Scratch&) const { return *this; }
  T* y;
  void put(const BnDims& d, Dim n, Dim c, const T* xr, T mean, T scale, T shift) const {
    T* yr = y + (n * d.C + c) * d.S;
    if (n + 1 < d.N) prefetch_run(yr + d.C * d.S, d.S);
    for (Dim s = 0; s < d.S; ++s) yr[s] = (xr[s] - mean) * scale + shift;
  }
};

// Channel c of y from its mean and inverse standard deviation, which are kept in `saved`
// for the backward (an inference plan may keep nothing for one).
template <class T, class Y>
void write_channel(const OpArgs<T>& a, const BnDims& d, Dim c, T mean, T inv_std, const Y& y) {
  const T* x = a.in[0].data;
  const T* gamma = a.in[1].data;
  const T* beta = a.in[2].data;
  if (a.saved) {
    a.saved[c] = mean;
    a.saved[d.C + c] = inv_std;
  }
  const T scale = gamma[c] * inv_std, shift = beta[c];
  for (Dim n = 0; n < d.N; ++n) y.put(d, n, c, x + (n * d.C + c) * d.S, mean, scale, shift);
}

// One run of S values of channel c in Train mode: dx (=, or += with acc) gamma_c inv_std_c
// (dy - mean dy - xhat mean dy xhat), the bracket in double (see batchnorm_backward). dx may
// be dy: each element is read before it is written.
template <class T>
void write_dx(T* dx, const T* dy, const T* x, Dim S, bool acc, T k, T mean, T inv_std,
              double mean_dy, double mean_dy_xhat) {
  if (acc) {
    for (Dim s = 0; s < S; ++s) {
      const T xhat = (x[s] - mean) * inv_std;
      dx[s] += k * T(double(dy[s]) - mean_dy - double(xhat) * mean_dy_xhat);
    }
  } else {
    for (Dim s = 0; s < S; ++s) {
      const T xhat = (x[s] - mean) * inv_std;
      dx[s] = k * T(double(dy[s]) - mean_dy - double(xhat) * mean_dy_xhat);
    }
  }
}

template <class T, class Y>
void batchnorm_forward_synced(const OpArgs<T>& a, BatchStatsSum& stats, const Y& y) {
  const BnDims d = bn_dims(a.in[0].shape);
  const T eps = T(a.attrs->get_float("eps")), m = T(a.attrs->get_float("momentum"));
  const T* x = a.in[0].data;
  T* running_mean = a.in[3].data;
  T* running_var = a.in[4].data;
  const auto C = static_cast<std::size_t>(d.C);
  double* sums = sync_buffer(2 * C + 1);  // sum x per channel, M; then sum (x - mean)^2
  double* squares = sums + C + 1;
  for_channels(d, [&](Dim c0, Dim c1) {
    for (Dim c = c0; c < c1; ++c) sums[c] = channel_sum(d, c, x, [x](Dim i) { return x[i]; });
  });
  sums[C] = double(d.N * d.S);
  stats.sum(sums, C + 1);
  const double M = sums[C];
  if (M < 2)
    throw ShapeError("batchnorm in Train mode needs more than one value per channel, x is " +
                     shape_str(a.in[0].shape) + " on every rank together");
  for_channels(d, [&](Dim c0, Dim c1) {
    for (Dim c = c0; c < c1; ++c) {
      const T mean = T(sums[c] / M);
      squares[c] = channel_sum(d, c, x, [x, mean](Dim i) {
        const double dev = double(x[i]) - double(mean);
        return dev * dev;
      });
    }
  });
  stats.sum(squares, C);
  for_channels(d, [&](Dim c0, Dim c1) {
    typename Y::Scratch scratch;
    const auto ys = y.with(scratch);
    for (Dim c = c0; c < c1; ++c) {
      const T mean = T(sums[c] / M), var = T(squares[c] / M);
      running_mean[c] = (T(1) - m) * running_mean[c] + m * mean;
      running_var[c] = (T(1) - m) * running_var[c] + m * var * T(M) / T(M - 1);
      write_channel(a, d, c, mean, T(1) / std::sqrt(var + eps), ys);
    }
  });
}

// dgamma and dbeta stay this rank's sums (the gradient sum adds the ranks'); dx uses the
// global means of dy and dy xhat.
template <class T, class Before>
void batchnorm_backward_synced(const OpArgs<T>& a, BatchStatsSum& stats, const T* dy, const Before& before) {
  const TensorRef<T>&dx_ref = a.d_in[0], &dgamma_ref = a.d_in[1], &dbeta_ref = a.d_in[2];
  const BnDims d = bn_dims(a.in[0].shape);
  const T* x = a.in[0].data;
  const T* gamma = a.in[1].data;
  const T* mean = a.saved;
  const T* inv_std = a.saved + d.C;
  const auto C = static_cast<std::size_t>(d.C);
  double* sums = sync_buffer(2 * C + 1);  // sum dy per channel, sum dy xhat per channel, M
  for_channels(d, [&](Dim c0, Dim c1) {
    for (Dim c = c0; c < c1; ++c) {
      const T mc = mean[c], ic = inv_std[c];
      channel_sum2(
          d, c, dy, x, [dy](Dim i) { return dy[i]; }, [dy, x, mc, ic](Dim i) { return dy[i] * (x[i] - mc) * ic; },
          sums[c], sums[C + static_cast<std::size_t>(c)], [&](Dim n) { before(n, c); });
      if (dgamma_ref) {
        T& g = dgamma_ref.data[c];
        g = a.accumulates(1) ? g + T(sums[C + static_cast<std::size_t>(c)]) : T(sums[C + static_cast<std::size_t>(c)]);
      }
      if (dbeta_ref) {
        T& b = dbeta_ref.data[c];
        b = a.accumulates(2) ? b + T(sums[c]) : T(sums[c]);
      }
    }
  });
  sums[2 * C] = double(d.N * d.S);
  stats.sum(sums, 2 * C + 1);
  if (!dx_ref) return;
  const double M = sums[2 * C];
  T* dx = dx_ref.data;
  const bool acc = a.accumulates(0);
  for_channels(d, [&](Dim c0, Dim c1) {
    for (Dim c = c0; c < c1; ++c) {
      const double mean_dy = sums[c] / M, mean_dy_xhat = sums[C + static_cast<std::size_t>(c)] / M;
      const T k = gamma[c] * inv_std[c];
      for (Dim n = 0; n < d.N; ++n) {
        const Dim base = (n * d.C + c) * d.S;
        write_dx(dx + base, dy + base, x + base, d.S, acc, k, mean[c], inv_std[c], mean_dy, mean_dy_xhat);
      }
    }
  });
}

// batchnorm: x[N,C,S], gamma[C], beta[C], running_mean[C], running_var[C] -> y[N,C,S]
// Train: mean_c = sum_{n,s} x / M,  var_c = sum_{n,s} (x - mean_c)^2 / M  (biased), M = N*S
//        running_mean_c = (1 - m) running_mean_c + m mean_c
//        running_var_c  = (1 - m) running_var_c  + m var_c M / (M - 1)   (unbiased)
// Eval:  mean_c = running_mean_c,  var_c = running_var_c
// xhat = (x - mean_c) inv_std_c,  inv_std_c = 1 / sqrt(var_c + eps);  y = gamma_c xhat + beta_c
// Channel c is read completely before it is written, so y may alias x.
template <class T, class Y>
void batchnorm_forward_to(const OpArgs<T>& a, const Y& ys) {
  const BnDims d = bn_dims(a.in[0].shape);
  const T eps = T(a.attrs->get_float("eps")), m = T(a.attrs->get_float("momentum"));
  const T* x = a.in[0].data;
  const T* gamma = a.in[1].data;
  const T* beta = a.in[2].data;
  T* running_mean = a.in[3].data;
  T* running_var = a.in[4].data;
  const Dim M = d.N * d.S;
  const bool train = a.mode == Mode::Train;
  if (train && g_batch_stats_sum) return batchnorm_forward_synced(a, *g_batch_stats_sum, ys);
  if (train && M < 2)
    throw ShapeError("batchnorm in Train mode needs more than one value per channel, x is " +
                     shape_str(a.in[0].shape));
  if (d.S == 1 && a.saved && Y::kInMemory) {  // [N, C]: saved holds the per-channel sums, then the stats
    T* y = a.out[0].data;
    const Dim C = d.C;
    T* mean = a.saved;
    T* inv_std = a.saved + C;
    if (train) {
      std::fill(mean, mean + 2 * C, T(0));
      for (Dim n = 0; n < d.N; ++n)
        for (Dim c = 0; c < C; ++c) mean[c] += x[n * C + c];
      for (Dim c = 0; c < C; ++c) mean[c] /= T(M);
      // A second pass: sum (x - mean)^2 does not cancel as sum x^2 - M mean^2 does.
      T* sq = inv_std;
      for (Dim n = 0; n < d.N; ++n)
        for (Dim c = 0; c < C; ++c) {
          const T dev = x[n * C + c] - mean[c];
          sq[c] += dev * dev;
        }
      for (Dim c = 0; c < C; ++c) {
        const T var = sq[c] / T(M);
        running_mean[c] = (T(1) - m) * running_mean[c] + m * mean[c];
        running_var[c] = (T(1) - m) * running_var[c] + m * var * T(M) / T(M - 1);
        inv_std[c] = T(1) / std::sqrt(var + eps);
      }
    } else {
      for (Dim c = 0; c < C; ++c) {
        mean[c] = running_mean[c];
        inv_std[c] = T(1) / std::sqrt(running_var[c] + eps);
      }
    }
    // Every statistic is complete before y is written, so y may alias x.
    for (Dim n = 0; n < d.N; ++n)
      for (Dim c = 0; c < C; ++c) {
        const Dim i = n * C + c;
        y[i] = (x[i] - mean[c]) * (gamma[c] * inv_std[c]) + beta[c];
      }
    return;
  }
  for_channels(d, [&](Dim c0, Dim c1) {
    typename Y::Scratch scratch;
    const auto y = ys.with(scratch);
    for (Dim c = c0; c < c1; ++c) {
      T mean, var;
      if (train) {
        mean = T(channel_sum(d, c, x, [x](Dim i) { return x[i]; }) / double(M));
        // A second pass: sum (x - mean)^2 does not cancel as sum x^2 - M mean^2 does.
        var = T(channel_sum(d, c, x, [x, mean](Dim i) {
                  const double dev = double(x[i]) - double(mean);
                  return dev * dev;
                }) / double(M));
        running_mean[c] = (T(1) - m) * running_mean[c] + m * mean;
        running_var[c] = (T(1) - m) * running_var[c] + m * var * T(M) / T(M - 1);
      } else {
        mean = running_mean[c];
        var = running_var[c];
      }
      write_channel(a, d, c, mean, T(1) / std::sqrt(var + eps), y);
    }
  });
}

// y = gamma_c xhat + beta_c,  xhat = (x - mean_c) inv_std_c  =>
//   dbeta_c  = sum_{n,s} dy
//   dgamma_c = sum_{n,s} dy xhat
//   Eval  (mean, inv_std are constants):      dx = dy gamma_c inv_std_c
//   Train (mean, inv_std depend on all M values of channel c):
//         dx = (gamma_c inv_std_c / M) (M dy - sum_{n,s} dy - xhat sum_{n,s} dy xhat)
//            = gamma_c inv_std_c (dy - mean_{n,s} dy - xhat mean_{n,s} dy xhat)
//         with the bracket in double: its terms nearly cancel wherever dy is 0 (after a
//         relu or a max-pool), and a float product xhat * mean rounded before the
//         subtraction loses most of the result there. In double the product is exact.
// mean and inv_std come from `saved`. Both sums are complete before dx is written, and dx
// touches only channel c, so dx may alias dy. before(n, c) runs before the sums read run
// (n, c) of dy (the fused step routes it there; plain batchnorm: nothing).
template <class T, class Before>
void batchnorm_backward_from(const OpArgs<T>& a, const T* dy, const Before& before) {
  const TensorRef<T>&dx_ref = a.d_in[0], &dgamma_ref = a.d_in[1], &dbeta_ref = a.d_in[2];
  if (!dx_ref && !dgamma_ref && !dbeta_ref) return;
  const BnDims d = bn_dims(a.in[0].shape);
  const T* x = a.in[0].data;
  const T* gamma = a.in[1].data;
  const T* mean = a.saved;
  const T* inv_std = a.saved + d.C;
  const Dim M = d.N * d.S;
  const bool train = a.mode == Mode::Train;
  if (train && g_batch_stats_sum) return batchnorm_backward_synced(a, *g_batch_stats_sum, dy, before);
  // [N, C] with dgamma and dbeta both written (not accumulated): they are the per-channel
  // accumulators, n outer and c inner.
  if (d.S == 1 && dgamma_ref && dbeta_ref && !a.accumulates(1) && !a.accumulates(2)) {
    for (Dim n = 0; n < d.N; ++n)
      for (Dim c = 0; c < d.C; ++c) before(n, c);
    const Dim C = d.C;
    T* sum_dy_xhat = dgamma_ref.data;
    T* sum_dy = dbeta_ref.data;
    std::fill(sum_dy_xhat, sum_dy_xhat + C, T(0));
    std::fill(sum_dy, sum_dy + C, T(0));
    for (Dim n = 0; n < d.N; ++n)
      for (Dim c = 0; c < C; ++c) {
        const Dim i = n * C + c;
        sum_dy[c] += dy[i];
        sum_dy_xhat[c] += dy[i] * (x[i] - mean[c]) * inv_std[c];
      }
    if (!dx_ref) return;
    T* dx = dx_ref.data;
    const bool acc = a.accumulates(0);
    const double inv_m = 1.0 / double(M);
    // dx may alias dy, but never dgamma/dbeta: element i is read before it is written.
    for (Dim n = 0; n < d.N; ++n)
      for (Dim c = 0; c < C; ++c) {
        const Dim i = n * C + c;
        const T k = gamma[c] * inv_std[c];
        T g;
        if (train) {
          const T xhat = (x[i] - mean[c]) * inv_std[c];
          g = k * T(double(dy[i]) - double(sum_dy[c]) * inv_m - double(xhat) * (double(sum_dy_xhat[c]) * inv_m));
        } else {
          g = k * dy[i];
        }
        dx[i] = acc ? dx[i] + g : g;
      }
    return;
  }
  for_channels(d, [&](Dim c0, Dim c1) {
    for (Dim c = c0; c < c1; ++c) {
      const T mc = mean[c], ic = inv_std[c];
      double sum_dy_d, sum_dy_xhat_d;
      channel_sum2(
          d, c, dy, x, [dy](Dim i) { return dy[i]; }, [dy, x, mc, ic](Dim i) { return dy[i] * (x[i] - mc) * ic; },
          sum_dy_d, sum_dy_xhat_d, [&](Dim n) { before(n, c); });
      const T sum_dy = T(sum_dy_d), sum_dy_xhat = T(sum_dy_xhat_d);
      const double mean_dy = sum_dy_d / double(M), mean_dy_xhat = sum_dy_xhat_d / double(M);
      if (dgamma_ref) {
        T& g = dgamma_ref.data[c];
        g = a.accumulates(1) ? g + sum_dy_xhat : sum_dy_xhat;
      }
      if (dbeta_ref) {
        T& b = dbeta_ref.data[c];
        b = a.accumulates(2) ? b + sum_dy : sum_dy;
      }
      if (!dx_ref) continue;
      T* dx = dx_ref.data;
      const bool acc = a.accumulates(0);
      const T k = gamma[c] * inv_std[c];
      for (Dim n = 0; n < d.N; ++n) {
        const Dim base = (n * d.C + c) * d.S;
        if (train)
          write_dx(dx + base, dy + base, x + base, d.S, acc, k, mc, ic, mean_dy, mean_dy_xhat);
        else if (acc)
          for (Dim s = 0; s < d.S; ++s) dx[base + s] += k * dy[base + s];
        else
          for (Dim s = 0; s < d.S; ++s) dx[base + s] = k * dy[base + s];
      }
    }
  });
}

template <class T>
void batchnorm_forward(const OpArgs<T>& a) {
  batchnorm_forward_to(a, YInMemory<T>{a.out[0].data});
}

template <class T>
void batchnorm_backward(const OpArgs<T>& a) {
  batchnorm_backward_from(a, a.d_out[0].data, [](Dim, Dim) {});
}

// ---- batchnorm, relu and a 2x2 stride-2 max_pool2d as one step (OpDef::then_relu_pool) ----
//
// Each run (n, c) of y is computed into a buffer on the stack, one plane of H*W values,
// and pooled from there (ops/pool_2x2.hpp with relu, as max_pool2d's after_relu kernels):
// y and relu's output never go to memory. The backward computes the plane of y again from
// x and the saved statistics, routes the pooled gradient into dy (the same function, the
// same bits as the max-pool's backward step) as batchnorm's backward sums it, then reads
// that channel's dy back for dx. Every value is the one the three steps compute, so the
// bits are theirs.

// The geometry of the pool from x [N, C, H, W]: 2x2 windows, stride 2, no padding.
Window2d pool_geometry(const Shape& x) {
  Window2d g;
  g.h = x[2];
  g.w = x[3];
  g.kh = g.kw = g.sh = g.sw = 2;
  g.oh = g.h / 2;
  g.ow = g.w / 2;
  return g;
}

// Compared a dimension at a time: a Shape built to compare with would be a heap allocation
// at every step.
void check_relu_pool(const Shape& x, const Shape& pooled) {
  if (!fuses_relu_pool(x) || pooled.size() != 4 || pooled[0] != x[0] || pooled[1] != x[1] || pooled[2] != x[2] / 2 ||
      pooled[3] != x[3] / 2)
    throw ShapeError("batchnorm + relu + max_pool2d: x " + shape_str(x) + " and pooled output " + shape_str(pooled) +
                     " are not a 2x2 stride-2 pool of planes of at most " + std::to_string(kReluPoolPlane) + " values");
}

template <class T>
struct PooledY {
  static constexpr bool kInMemory = false;
  struct Scratch {
    T z[kReluPoolPlane];
  };
  struct Runs {
    Window2d g;
    T* pooled;
    T* z;
    void put(const BnDims& d, Dim n, Dim c, const T* xr, T mean, T scale, T shift) const {
      for (Dim s = 0; s < d.S; ++s) z[s] = (xr[s] - mean) * scale + shift;
      pool_2x2::pool_2x2_plane<true>(g, z, pooled + (n * d.C + c) * g.oh * g.ow, false);
    }
  };
  Window2d g;
  T* pooled;
  Runs with(Scratch& s) const { return Runs{g, pooled, s.z}; }
};

// Reads batchnorm's inputs, writes max_pool2d's output (attributes: batchnorm's).
template <class T>
void batchnorm_relu_pool_forward(const OpArgs<T>& a) {
  check_relu_pool(a.in[0].shape, a.out[0].shape);
  batchnorm_forward_to(a, PooledY<T>{pool_geometry(a.in[0].shape), a.out[0].data});
}

// Reads batchnorm's inputs (beta too: y is computed again) and max_pool2d's output
// gradient, writes batchnorm's input gradients with their accumulate flags.
template <class T>
void batchnorm_relu_pool_backward(const OpArgs<T>& a) {
  check_relu_pool(a.in[0].shape, a.d_out[0].shape);
  if (!a.saved) throw ShapeError("batchnorm + relu + max_pool2d: the backward has no saved statistics");
  if (!a.workspace || a.workspace_size < a.in[0].size())
    throw ShapeError("batchnorm + relu + max_pool2d: the backward's workspace holds " +
                     std::to_string(a.workspace_size) + " values, not x's " + std::to_string(a.in[0].size()));
  const BnDims d = bn_dims(a.in[0].shape);
  const Window2d g = pool_geometry(a.in[0].shape);
  const T* x = a.in[0].data;
  const T* gamma = a.in[1].data;
  const T* beta = a.in[2].data;
  const T* mean = a.saved;
  const T* inv_std = a.saved + d.C;
  const T* dpooled = a.d_out[0].data;
  T* dy = a.workspace;
  // Run (n, c) of y again, into a buffer on this thread's stack, and the pooled gradient
  // routed from it into dy's run, which the sums read next and dx after them. Routed alone
  // (next_plane false): dy's next run belongs to another channel, maybe another thread's.
  batchnorm_backward_from(a, static_cast<const T*>(dy), [&](Dim n, Dim c) {
    T z[kReluPoolPlane];
    const Dim base = (n * d.C + c) * d.S;
    const T m = mean[c], scale = gamma[c] * inv_std[c], shift = beta[c];
    for (Dim s = 0; s < d.S; ++s) z[s] = (x[base + s] - m) * scale + shift;
    pool_2x2::route_2x2_plane<true, false>(g, z, dpooled + (n * d.C + c) * g.oh * g.ow, dy + base, false);
  });
}

}  // namespace

bool fuses_relu_pool(const Shape& x) {
  return x.size() == 4 && x[0] > 0 && x[1] > 0 && x[2] >= 2 && x[3] >= 2 && x[2] <= kReluPoolPlane &&
         x[3] <= kReluPoolPlane && x[2] * x[3] <= kReluPoolPlane;
}

const OpDef& batchnorm_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "batchnorm";
    d.inputs = {"x", "gamma", "beta", "running_mean", "running_var"};
    d.outputs = {"y"};
    d.attrs = {{"eps", AttrType::Float, false, 1e-5}, {"momentum", AttrType::Float, false, 0.1}};
    d.shape = batchnorm_shape;
    d.differentiable = {true, true, true, false, false};
    // x for xhat, gamma for dx; the statistics come from `saved` (in Train mode the running
    // ones have moved on since the forward).
    d.backward_reads_in = {true, true, false, false, false};
    d.backward_reads_out = {false};
    d.inplace = true;
    d.backward_inplace = true;
    d.writes_state = true;
    d.saved = batchnorm_saved;
    d.check_data = batchnorm_check_data;
    PLANGRAD_SET_KERNELS(d, batchnorm_forward, batchnorm_backward);
    PLANGRAD_SET_KERNELS(d.then_relu_pool, batchnorm_relu_pool_forward, batchnorm_relu_pool_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
