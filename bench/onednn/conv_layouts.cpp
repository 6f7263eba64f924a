// conv_layouts: oneDNN 2.6's convolution primitives on W4's and W5's convolutions, in the
// two ways plangrad could call them (evidence for issue 19's "calling oneDNN for
// convolution primitives"; not part of bench/run.sh's table):
//
//   plain    every memory descriptor forced to plangrad's arena layouts (src / dst / diffs
//            nchw, weights oihw, bias x): what calling oneDNN on the arena's views without
//            any reorder gives. The implementation oneDNN falls back to is printed
//            (pd.impl_info_str()).
//   blocked  format_tag::any for src, weights, dst and their diffs (oneDNN picks nChw16c-style
//            activations and blocked weights), plus, timed on their own, the reorders from and
//            to nchw / oihw that plangrad would need where a blocked chain meets its plain
//            tensors: "in" brings the primitive's activation inputs (src, or diff_dst) from
//            nchw, "out" takes its activation output (dst, diff_src) back to nchw, "weights"
//            is the oihw <-> blocked reorder of the weights (forward, backward-data) or of the
//            weight gradient (backward-weights). Inside a chain kept blocked only its edges
//            pay "in" / "out"; weights kept blocked in the arena pay no "weights".
//
// Shapes: W4 (batch 128, training): conv 1->16 3x3 pad 1 on 28x28 and 16->32 on 14x14, with
// bias: forward_training, backward_data, backward_weights (with the bias gradient; the first
// convolution's backward-data is not part of W4's step: its input takes no gradient). W5
// (batch 1 and 64): the same two convolutions, forward_inference.
//
// One thread (omp_set_num_threads(1), whatever OMP_NUM_THREADS says). Each figure is the
// median of a run of executions (at least 20, about 0.2 s) after 5 warm-up ones, in µs of
// this thread's CPU time (oneDNN's one OpenMP thread is the calling thread).
//
//   conv_layouts [--reps N]
#include <dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

int fixed_reps = 0;  // --reps: a fixed count instead of ~0.2 s

// This thread's CPU time: with one thread it is the whole work, and on a shared machine it
// leaves out the time other processes hold the core.
double thread_cpu_us() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) * 1e-3;
}

double median_us(const std::function<void()>& f, stream& s) {
  for (int i = 0; i < 5; ++i) f();
  s.wait();
  std::vector<double> t;
  double total = 0;
  while (fixed_reps > 0 ? static_cast<int>(t.size()) < fixed_reps : (t.size() < 20 || total < 2e5)) {
    const double t0 = thread_cpu_us();
    f();
    s.wait();
    const double us = thread_cpu_us() - t0;
    t.push_back(us);
    total += us;
    if (t.size() >= 100000) break;
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct Shape {
  const char* name;
  memory::dim n, ic, oc, hw;
};

memory filled(const memory::desc& md, const engine& eng) {
  memory m(md, eng);
  float* p = static_cast<float*>(m.get_data_handle());
  const std::size_t n = md.get_size() / sizeof(float);
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<float>((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
  return m;
}

// Times the reorder plain -> chosen (to_chosen) or chosen -> plain; 0 where the two agree.
double reorder_us(const memory::desc& plain, const memory::desc& chosen, bool to_chosen, const engine& eng, stream& s) {
  if (plain == chosen) return 0.0;
  memory a = filled(to_chosen ? plain : chosen, eng), b(to_chosen ? chosen : plain, eng);
  reorder r(a, b);
  return median_us([&] { r.execute(s, a, b); }, s);
}

// A short name for the layout oneDNN chose: its plain tag when it is one (nchw, nhwc, oihw,
// ohwi, ...), else "blocked" and the inner blocks (e.g. "nChw16c-like: 16c").
std::string layout(const memory::desc& md, bool weights) {
  const memory::dims d = md.dims();
  const std::vector<std::pair<tag, const char*>> plain =
      weights ? std::vector<std::pair<tag, const char*>>{{tag::oihw, "oihw"}, {tag::ohwi, "ohwi"}, {tag::ihwo, "ihwo"},
                                                         {tag::hwio, "hwio"}}
              : std::vector<std::pair<tag, const char*>>{{tag::nchw, "nchw"}, {tag::nhwc, "nhwc"}};
  for (const auto& [t, name] : plain)
    if (md == memory::desc(d, dt::f32, t)) return name;
  const dnnl_memory_desc_t& c = md.data;
  if (c.format_kind != dnnl_blocked) return "other";
  const auto& b = c.format_desc.blocking;
  const char* letters = weights ? "oihw" : "nchw";
  std::string s = "blocked";
  for (int i = 0; i < b.inner_nblks; ++i)
    s += " " + std::to_string(b.inner_blks[i]) + (b.inner_idxs[i] < 4 ? std::string(1, letters[b.inner_idxs[i]]) : "?");
  return s;
}

void row(const char* shape, const char* dir, const char* setting, const std::string& impl, double prim, double in,
         double out, double w, const std::string& layouts) {
  std::printf("| %-24s | %-16s | %-7s | %-26s | %9.1f | %8.1f | %8.1f | %8.1f | %9.1f | %s |\n", shape, dir, setting,
              impl.c_str(), prim, in, out, w, prim + in + out, layouts.c_str());
}

void conv(const Shape& sh, bool training, engine& eng, stream& s) {
  const memory::dims src_d = {sh.n, sh.ic, sh.hw, sh.hw}, w_d = {sh.oc, sh.ic, 3, 3}, b_d = {sh.oc},
                     dst_d = {sh.n, sh.oc, sh.hw, sh.hw}, st = {1, 1}, pad = {1, 1};
  const memory::desc src_p(src_d, dt::f32, tag::nchw), w_p(w_d, dt::f32, tag::oihw), b_md(b_d, dt::f32, tag::x),
      dst_p(dst_d, dt::f32, tag::nchw);
  const memory::desc src_a(src_d, dt::f32, tag::any), w_a(w_d, dt::f32, tag::any), dst_a(dst_d, dt::f32, tag::any);
  const algorithm alg = algorithm::convolution_direct;
  const prop_kind fk = training ? prop_kind::forward_training : prop_kind::forward_inference;
  for (const bool plain : {true, false}) {
    const char* setting = plain ? "plain" : "blocked";
    const memory::desc &src = plain ? src_p : src_a, &wt = plain ? w_p : w_a, &dst = plain ? dst_p : dst_a;
    const convolution_forward::primitive_desc fpd({fk, alg, src, wt, b_md, dst, st, pad, pad}, eng);
    {
      memory x = filled(fpd.src_desc(), eng), w = filled(fpd.weights_desc(), eng), b = filled(b_md, eng),
             y(fpd.dst_desc(), eng);
      convolution_forward p(fpd);
      const double t = median_us(
          [&] { p.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}}); }, s);
      row(sh.name, training ? "forward_training" : "forward_inference", setting, fpd.impl_info_str(), t,
          reorder_us(src_p, fpd.src_desc(), true, eng, s), reorder_us(dst_p, fpd.dst_desc(), false, eng, s),
          reorder_us(w_p, fpd.weights_desc(), true, eng, s),
          "src " + layout(fpd.src_desc(), false) + ", w " + layout(fpd.weights_desc(), true) + ", dst " + layout(fpd.dst_desc(), false));
    }
    if (!training) continue;
    {
      const convolution_backward_data::primitive_desc pd({alg, src, wt, dst, st, pad, pad}, eng, fpd);
      memory dy = filled(pd.diff_dst_desc(), eng), w = filled(pd.weights_desc(), eng), dx(pd.diff_src_desc(), eng);
      convolution_backward_data p(pd);
      const double t =
          median_us([&] { p.execute(s, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx}}); }, s);
      row(sh.name, sh.ic == 1 ? "backward_data *" : "backward_data", setting, pd.impl_info_str(), t,
          reorder_us(dst_p, pd.diff_dst_desc(), true, eng, s), reorder_us(src_p, pd.diff_src_desc(), false, eng, s),
          reorder_us(w_p, pd.weights_desc(), true, eng, s),
          "diff_dst " + layout(pd.diff_dst_desc(), false) + ", w " + layout(pd.weights_desc(), true) + ", diff_src " +
              layout(pd.diff_src_desc(), false));
    }
    {
      const convolution_backward_weights::primitive_desc pd({alg, src, wt, b_md, dst, st, pad, pad}, eng, fpd);
      memory x = filled(pd.src_desc(), eng), dy = filled(pd.diff_dst_desc(), eng), dw(pd.diff_weights_desc(), eng),
             db(b_md, eng);
      convolution_backward_weights p(pd);
      const double t = median_us(
          [&] {
            p.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, dw}, {DNNL_ARG_DIFF_BIAS, db}});
          },
          s);
      row(sh.name, "backward_weights", setting, pd.impl_info_str(), t,
          reorder_us(src_p, pd.src_desc(), true, eng, s) + reorder_us(dst_p, pd.diff_dst_desc(), true, eng, s), 0.0,
          reorder_us(w_p, pd.diff_weights_desc(), false, eng, s),
          "src " + layout(pd.src_desc(), false) + ", diff_dst " + layout(pd.diff_dst_desc(), false) + ", diff_w " +
              layout(pd.diff_weights_desc(), true));
    }
  }
}

}  // namespace

int main(int argc, char** argv) try {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      fixed_reps = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: conv_layouts [--reps N]\n");
      return 2;
    }
  }
  omp_set_num_threads(1);
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  const dnnl_version_t* v = dnnl_version();
  std::printf("oneDNN %d.%d.%d, %d thread, median CPU µs per execution; in / out / weights: the reorders to and from "
              "nchw / oihw (blocked only); sum = primitive + in + out\n\n",
              v->major, v->minor, v->patch, omp_get_max_threads());
  std::printf("| %-24s | %-16s | %-7s | %-26s | %9s | %8s | %8s | %8s | %9s | %s |\n", "convolution", "primitive",
              "layout", "implementation", "primitive", "in", "out", "weights", "sum", "layouts oneDNN chose");
  std::printf("|---|---|---|---|---:|---:|---:|---:|---:|---|\n");
  for (const Shape& sh : {Shape{"W4 conv1 b128 1->16 28²", 128, 1, 16, 28}, Shape{"W4 conv2 b128 16->32 14²", 128, 16, 32, 14}})
    conv(sh, true, eng, s);
  for (const Shape& sh : {Shape{"W5 conv1 b1 1->16 28²", 1, 1, 16, 28}, Shape{"W5 conv2 b1 16->32 14²", 1, 16, 32, 14},
                          Shape{"W5 conv1 b64 1->16 28²", 64, 1, 16, 28}, Shape{"W5 conv2 b64 16->32 14²", 64, 16, 32, 14}})
    conv(sh, false, eng, s);
  std::printf("\n* not part of W4's step (the first convolution's input takes no gradient)\n");
  return 0;
} catch (const dnnl::error& e) {
  std::fprintf(stderr, "conv_layouts: oneDNN error %d: %s\n", static_cast<int>(e.status), e.what());
  return 1;
}
