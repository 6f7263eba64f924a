// The layers of bench/onednn/onednn_workloads.cpp, written by hand against oneDNN 2.6's
// primitives the way oneDNN's cnn_training_f32 example does it: one primitive per layer and
// direction, created once; memory formats chosen by the primitives (format_tag::any: the
// CNN's activations in the blocked nChw16c layout, the weights in oneDNN's blocked layouts);
// every layer owns its outputs. Losses and optimizers are not oneDNN's (it has neither):
// onednn_workloads.cpp has them as plain loops.
#pragma once

#include <dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace onednn {

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Ctx {
  engine eng{engine::kind::cpu, 0};
  stream s{eng};
  std::set<std::string> impls;  // the implementations oneDNN picked (the JSON line names them)
  std::mt19937_64 rng{7};
};

inline float* ptr(const memory& m) { return static_cast<float*>(m.get_data_handle()); }
inline std::size_t count(const memory& m) { return m.get_desc().get_size() / sizeof(float); }

// Records which implementation (jit:avx512_core, gemm:jit, ref:any, ...) oneDNN chose.
template <typename PD>
void note(Ctx& c, const char* what, const PD& pd) {
  c.impls.insert(std::string(what) + "=" + pd.impl_info_str());
}

inline void fill_uniform(Ctx& c, float* p, std::size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  for (std::size_t i = 0; i < n; ++i) p[i] = u(c.rng);
}

// A parameter and its gradient, in the primitive's layout (padding stays zero: its gradient
// is zero, and SGD / Adam leave a zero with zero gradient at zero).
struct Param {
  memory w, g;
  std::vector<float> s1, s2;  // momentum buffer / Adam moments
};

// A parameter initialized like PyTorch (uniform +-1/sqrt(fan_in)) in the plain layout
// `plain`, then reordered into the primitive's layout `want`.
inline Param make_param(Ctx& c, const memory::desc& plain, const memory::desc& want, memory::dim fan_in) {
  memory p(plain, c.eng);
  const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
  fill_uniform(c, ptr(p), count(p), -bound, bound);
  Param r{memory(want, c.eng), memory(want, c.eng), {}, {}};
  reorder(p, r.w).execute(c.s, p, r.w);
  c.s.wait();
  std::fill(ptr(r.g), ptr(r.g) + count(r.g), 0.0f);
  return r;
}

inline prop_kind fwd_kind(bool training) {
  return training ? prop_kind::forward_training : prop_kind::forward_inference;
}

struct Layer {
  virtual ~Layer() = default;
  virtual const memory& forward(Ctx& c, const memory& src) = 0;
  virtual const memory& backward(Ctx& c, const memory& diff_dst) = 0;  // diff_src (empty if none)
  virtual memory::desc dst_desc() const = 0;
  virtual void params(std::vector<Param*>&) {}
};

// Inner product (dense) with bias. src: the previous layer's layout (nc, or the CNN's
// blocked nChw16c before the last layer); weights: oneDNN's choice (format_tag::any); dst:
// plain nc.
struct Dense : Layer {
  inner_product_forward fwd;
  inner_product_backward_data bwd_d;
  inner_product_backward_weights bwd_w;
  Param w, b;
  memory src, dst, diff_src;
  bool need_dx;
  Dense(Ctx& c, const memory::desc& src_md, memory::dim out, bool training, bool need_dx_)
      : need_dx(need_dx_ && training) {
    const memory::dims sd = src_md.dims();
    memory::dims wd = sd;
    wd[0] = out;
    memory::dim fan_in = 1;
    for (std::size_t i = 1; i < sd.size(); ++i) fan_in *= sd[i];
    const memory::desc w_any(wd, dt::f32, tag::any), b_md({out}, dt::f32, tag::x), dst_md({sd[0], out}, dt::f32, tag::nc);
    const inner_product_forward::primitive_desc fwd_pd({fwd_kind(training), src_md, w_any, b_md, dst_md}, c.eng);
    note(c, "inner_product_fwd", fwd_pd);
    fwd = inner_product_forward(fwd_pd);
    w = make_param(c, memory::desc(wd, dt::f32, sd.size() == 4 ? tag::oihw : tag::oi), fwd_pd.weights_desc(), fan_in);
    b = make_param(c, b_md, b_md, fan_in);
    dst = memory(dst_md, c.eng);
    if (!training) return;
    const inner_product_backward_weights::primitive_desc bwd_w_pd({src_md, fwd_pd.weights_desc(), b_md, dst_md}, c.eng,
                                                                  fwd_pd);
    note(c, "inner_product_bwd_weights", bwd_w_pd);
    bwd_w = inner_product_backward_weights(bwd_w_pd);
    if (need_dx) {
      const inner_product_backward_data::primitive_desc bwd_d_pd({src_md, fwd_pd.weights_desc(), dst_md}, c.eng, fwd_pd);
      note(c, "inner_product_bwd_data", bwd_d_pd);
      bwd_d = inner_product_backward_data(bwd_d_pd);
      diff_src = memory(src_md, c.eng);
    }
  }
  const memory& forward(Ctx& c, const memory& s) override {
    src = s;
    fwd.execute(c.s, {{DNNL_ARG_SRC, s}, {DNNL_ARG_WEIGHTS, w.w}, {DNNL_ARG_BIAS, b.w}, {DNNL_ARG_DST, dst}});
    return dst;
  }
  const memory& backward(Ctx& c, const memory& dd) override {
    bwd_w.execute(c.s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_DIFF_WEIGHTS, w.g}, {DNNL_ARG_DIFF_BIAS, b.g}});
    if (need_dx) bwd_d.execute(c.s, {{DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_WEIGHTS, w.w}, {DNNL_ARG_DIFF_SRC, diff_src}});
    return diff_src;
  }
  memory::desc dst_desc() const override { return dst.get_desc(); }
  void params(std::vector<Param*>& p) override { p.push_back(&w), p.push_back(&b); }
};

// 3x3 convolution, stride 1, padding 1, with bias (algorithm::convolution_direct); src given
// (the first one takes the plain nchw input), weights and dst oneDNN's choice (format_tag::any:
// nChw16c activations). The backward primitives pick their own weight layouts
// (format_tag::any: the forward's layout can send backward-data to oneDNN's reference code);
// where they differ from the forward's, the weights are reordered for backward-data and the
// weight gradient back to the forward's layout, every step.
struct Conv : Layer {
  convolution_forward fwd;
  convolution_backward_data bwd_d;
  convolution_backward_weights bwd_w;
  reorder w_to_bwd, g_to_fwd;  // empty where the layouts agree
  Param w, b;
  memory src, dst, diff_src, w_bwd, g_bwd;  // w_bwd / g_bwd: weights / gradient in backward's layouts
  bool need_dx;
  Conv(Ctx& c, const memory::desc& src_md, memory::dim out, bool training, bool need_dx_)
      : need_dx(need_dx_ && training) {
    const memory::dims sd = src_md.dims();
    const memory::dims wd = {out, sd[1], 3, 3}, dd = {sd[0], out, sd[2], sd[3]}, st = {1, 1}, pad = {1, 1};
    const memory::desc w_any(wd, dt::f32, tag::any), b_md({out}, dt::f32, tag::x), dst_any(dd, dt::f32, tag::any);
    const convolution_forward::primitive_desc fwd_pd(
        {fwd_kind(training), algorithm::convolution_direct, src_md, w_any, b_md, dst_any, st, pad, pad}, c.eng);
    note(c, "convolution_fwd", fwd_pd);
    fwd = convolution_forward(fwd_pd);
    w = make_param(c, memory::desc(wd, dt::f32, tag::oihw), fwd_pd.weights_desc(), sd[1] * 9);
    b = make_param(c, b_md, b_md, sd[1] * 9);
    dst = memory(fwd_pd.dst_desc(), c.eng);
    if (!training) return;
    const convolution_backward_weights::primitive_desc bwd_w_pd(
        {algorithm::convolution_direct, src_md, w_any, b_md, fwd_pd.dst_desc(), st, pad, pad}, c.eng, fwd_pd);
    note(c, "convolution_bwd_weights", bwd_w_pd);
    bwd_w = convolution_backward_weights(bwd_w_pd);
    g_bwd = w.g;
    if (bwd_w_pd.diff_weights_desc() != fwd_pd.weights_desc()) {
      g_bwd = memory(bwd_w_pd.diff_weights_desc(), c.eng);
      g_to_fwd = reorder(g_bwd, w.g);
    }
    if (need_dx) {
      const convolution_backward_data::primitive_desc bwd_d_pd(
          {algorithm::convolution_direct, src_md, w_any, fwd_pd.dst_desc(), st, pad, pad}, c.eng, fwd_pd);
      note(c, "convolution_bwd_data", bwd_d_pd);
      bwd_d = convolution_backward_data(bwd_d_pd);
      w_bwd = w.w;
      if (bwd_d_pd.weights_desc() != fwd_pd.weights_desc()) {
        w_bwd = memory(bwd_d_pd.weights_desc(), c.eng);
        w_to_bwd = reorder(w.w, w_bwd);
      }
      diff_src = memory(src_md, c.eng);
    }
  }
  const memory& forward(Ctx& c, const memory& s) override {
    src = s;
    fwd.execute(c.s, {{DNNL_ARG_SRC, s}, {DNNL_ARG_WEIGHTS, w.w}, {DNNL_ARG_BIAS, b.w}, {DNNL_ARG_DST, dst}});
    return dst;
  }
  const memory& backward(Ctx& c, const memory& dd) override {
    bwd_w.execute(c.s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_DIFF_WEIGHTS, g_bwd}, {DNNL_ARG_DIFF_BIAS, b.g}});
    if (g_to_fwd) g_to_fwd.execute(c.s, g_bwd, w.g);
    if (need_dx) {
      if (w_to_bwd) w_to_bwd.execute(c.s, w.w, w_bwd);
      bwd_d.execute(c.s, {{DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_WEIGHTS, w_bwd}, {DNNL_ARG_DIFF_SRC, diff_src}});
    }
    return diff_src;
  }
  memory::desc dst_desc() const override { return dst.get_desc(); }
  void params(std::vector<Param*>& p) override { p.push_back(&w), p.push_back(&b); }
};

// Element-wise relu (backward from src) or tanh (backward from dst), in the src's layout.
struct Eltwise : Layer {
  eltwise_forward fwd;
  eltwise_backward bwd;
  bool use_dst;
  memory src, dst, diff_src;
  Eltwise(Ctx& c, const memory::desc& md, algorithm alg, bool training)
      : use_dst(alg == algorithm::eltwise_tanh_use_dst_for_bwd) {
    const eltwise_forward::primitive_desc fwd_pd({fwd_kind(training), alg, md, 0.f, 0.f}, c.eng);
    note(c, "eltwise_fwd", fwd_pd);
    fwd = eltwise_forward(fwd_pd);
    dst = memory(md, c.eng);
    if (!training) return;
    const eltwise_backward::primitive_desc bwd_pd({alg, md, md, 0.f, 0.f}, c.eng, fwd_pd);
    note(c, "eltwise_bwd", bwd_pd);
    bwd = eltwise_backward(bwd_pd);
    diff_src = memory(md, c.eng);
  }
  const memory& forward(Ctx& c, const memory& s) override {
    src = s;
    fwd.execute(c.s, {{DNNL_ARG_SRC, s}, {DNNL_ARG_DST, dst}});
    return dst;
  }
  const memory& backward(Ctx& c, const memory& dd) override {
    bwd.execute(c.s, {{use_dst ? DNNL_ARG_DST : DNNL_ARG_SRC, use_dst ? dst : src}, {DNNL_ARG_DIFF_DST, dd},
                      {DNNL_ARG_DIFF_SRC, diff_src}});
    return diff_src;
  }
  memory::desc dst_desc() const override { return dst.get_desc(); }
};

// Batch normalization per channel over every other dimension (nc: PyTorch's BatchNorm1d;
// nChw16c: BatchNorm2d), with scale and shift: eps 1e-5, momentum 0.1, running variance
// unbiased. Training: batch statistics, running statistics updated by hand; inference:
// global (running) statistics.
struct BatchNorm : Layer {
  batch_normalization_forward fwd;
  batch_normalization_backward bwd;
  Param scale, shift;
  memory src, dst, diff_src, mean, var, run_mean, run_var;
  bool training;
  float count_per_channel = 1;
  BatchNorm(Ctx& c, const memory::desc& md, bool training_) : training(training_) {
    const memory::dims d = md.dims();
    for (std::size_t i = 0; i < d.size(); ++i)
      if (i != 1) count_per_channel *= static_cast<float>(d[i]);
    const memory::desc ch({d[1]}, dt::f32, tag::x);
    const auto flags = normalization_flags::use_scale | normalization_flags::use_shift |
                       (training ? normalization_flags::none : normalization_flags::use_global_stats);
    const batch_normalization_forward::primitive_desc fwd_pd({fwd_kind(training), md, 1e-5f, flags}, c.eng);
    note(c, "batch_normalization_fwd", fwd_pd);
    fwd = batch_normalization_forward(fwd_pd);
    scale = Param{memory(ch, c.eng), memory(ch, c.eng), {}, {}};
    shift = Param{memory(ch, c.eng), memory(ch, c.eng), {}, {}};
    std::fill(ptr(scale.w), ptr(scale.w) + d[1], 1.0f);
    std::fill(ptr(shift.w), ptr(shift.w) + d[1], 0.0f);
    mean = memory(ch, c.eng), var = memory(ch, c.eng), run_mean = memory(ch, c.eng), run_var = memory(ch, c.eng);
    std::fill(ptr(run_mean), ptr(run_mean) + d[1], 0.0f);
    std::fill(ptr(run_var), ptr(run_var) + d[1], 1.0f);
    dst = memory(md, c.eng);
    if (!training) return;
    const batch_normalization_backward::primitive_desc bwd_pd({prop_kind::backward, md, md, 1e-5f, flags}, c.eng, fwd_pd);
    note(c, "batch_normalization_bwd", bwd_pd);
    bwd = batch_normalization_backward(bwd_pd);
    diff_src = memory(md, c.eng);
  }
  const memory& forward(Ctx& c, const memory& s) override {
    src = s;
    const memory& m = training ? mean : run_mean;
    const memory& v = training ? var : run_var;
    fwd.execute(c.s, {{DNNL_ARG_SRC, s}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCALE, scale.w}, {DNNL_ARG_SHIFT, shift.w},
                      {DNNL_ARG_MEAN, m}, {DNNL_ARG_VARIANCE, v}});
    if (training) {
      c.s.wait();
      const std::size_t C = count(mean);
      const float unbias = count_per_channel / (count_per_channel - 1.0f);
      float *rm = ptr(run_mean), *rv = ptr(run_var), *bm = ptr(mean), *bv = ptr(var);
      for (std::size_t i = 0; i < C; ++i) {
        rm[i] = 0.9f * rm[i] + 0.1f * bm[i];
        rv[i] = 0.9f * rv[i] + 0.1f * bv[i] * unbias;
      }
    }
    return dst;
  }
  const memory& backward(Ctx& c, const memory& dd) override {
    bwd.execute(c.s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_MEAN, mean}, {DNNL_ARG_VARIANCE, var}, {DNNL_ARG_DIFF_DST, dd},
                      {DNNL_ARG_SCALE, scale.w}, {DNNL_ARG_SHIFT, shift.w},  // 2.6's backward asks for the shift too
                      {DNNL_ARG_DIFF_SRC, diff_src}, {DNNL_ARG_DIFF_SCALE, scale.g}, {DNNL_ARG_DIFF_SHIFT, shift.g}});
    return diff_src;
  }
  memory::desc dst_desc() const override { return dst.get_desc(); }
  void params(std::vector<Param*>& p) override { p.push_back(&scale), p.push_back(&shift); }
};

// 2x2 max-pool, stride 2, dst in oneDNN's choice of layout (format_tag::any: the src's
// nChw16c); training keeps the workspace of argmaxes for backward.
struct MaxPool : Layer {
  pooling_forward fwd;
  pooling_backward bwd;
  memory dst, diff_src, ws;
  bool training;
  MaxPool(Ctx& c, const memory::desc& md, bool training_) : training(training_) {
    const memory::dims d = md.dims();
    const memory::dims k = {2, 2}, pad = {0, 0};
    const memory::desc dst_any({d[0], d[1], d[2] / 2, d[3] / 2}, dt::f32, tag::any);
    const pooling_forward::primitive_desc fwd_pd(
        {fwd_kind(training), algorithm::pooling_max, md, dst_any, k, k, pad, pad}, c.eng);
    note(c, "pooling_fwd", fwd_pd);
    fwd = pooling_forward(fwd_pd);
    dst = memory(fwd_pd.dst_desc(), c.eng);
    if (!training) return;
    ws = memory(fwd_pd.workspace_desc(), c.eng);
    const pooling_backward::primitive_desc bwd_pd({algorithm::pooling_max, md, fwd_pd.dst_desc(), k, k, pad, pad}, c.eng,
                                                  fwd_pd);
    note(c, "pooling_bwd", bwd_pd);
    bwd = pooling_backward(bwd_pd);
    diff_src = memory(md, c.eng);
  }
  const memory& forward(Ctx& c, const memory& s) override {
    if (training)
      fwd.execute(c.s, {{DNNL_ARG_SRC, s}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, ws}});
    else
      fwd.execute(c.s, {{DNNL_ARG_SRC, s}, {DNNL_ARG_DST, dst}});
    return dst;
  }
  const memory& backward(Ctx& c, const memory& dd) override {
    bwd.execute(c.s, {{DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_DIFF_SRC, diff_src}, {DNNL_ARG_WORKSPACE, ws}});
    return diff_src;
  }
  memory::desc dst_desc() const override { return dst.get_desc(); }
};

struct Net {
  std::vector<std::unique_ptr<Layer>> layers;
  template <typename L, typename... A>
  memory::desc add(A&&... a) {
    layers.push_back(std::make_unique<L>(std::forward<A>(a)...));
    return layers.back()->dst_desc();
  }
  const memory& forward(Ctx& c, const memory& x) {
    const memory* m = &x;
    for (auto& l : layers) m = &l->forward(c, *m);
    return *m;
  }
  void backward(Ctx& c, const memory& d) {
    const memory* m = &d;
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) m = &(*it)->backward(c, *m);
  }
  std::vector<Param*> params() {
    std::vector<Param*> p;
    for (auto& l : layers) l->params(p);
    return p;
  }
};

}  // namespace onednn
