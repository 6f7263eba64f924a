// bench_conv: plangrad's own conv2d kernels (ops/conv2d.cpp, NCHW: these stride-1 float
// convolutions run the forward and dx by conv_rows, an implicit GEMM over the padded image's
// rows, except conv1's dx, and dw by conv_dw, a direct kernel over the padded images)
// on the shapes of bench/onednn/conv_layouts.cpp, in the same table, so that the two can be
// read side by side (and the residual network's three stride-1 shapes, whose 7- and 4-wide
// rows stay with im2col + GEMM): W4's two convolutions at batch 128 (forward in Train mode, the backward
// kernel asked for dx alone -- "backward_data" --, for dw and db alone --
// "backward_weights" --, for conv2 for all three, and conv2d_nobias's dw alone, as W4's
// step asks), W5's at batch 1 and 64 (forward in Eval mode). The kernels are called
// directly, outside any plan, with a workspace of the size the plan would give them. One
// thread (set_op_threads(1); run with OPENBLAS_NUM_THREADS=1); the median of this thread's
// CPU time per call, as conv_layouts measures. Not part of bench/run.sh.
//
//   OPENBLAS_NUM_THREADS=1 bench_conv
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <functional>
#include <vector>

#include "bench/cpu_time.hpp"
#include "kernels/conv_dw.hpp"
#include "kernels/parallel.hpp"
#include "ops/conv2d.hpp"
#include "ops/conv2d_rows.hpp"

using namespace plangrad;

namespace {

double median_us(const std::function<void()>& f) { return bench_clock::median_us(f, 20, 2e5); }

struct ConvShape {
  const char* name;
  Dim n, ic, oc, hw;
};

std::vector<float> filled(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
  return v;
}

void row(const char* shape, const char* dir, const char* impl, double us) {
  std::printf("| %-24s | %-19s | %-7s | %-26s | %9.1f |\n", shape, dir, "nchw", impl, us);
}

void conv(const ConvShape& sh, bool training) {
  const OpDef& op = conv2d_op();
  const Attrs attrs = normalize_attrs(op, "conv", {{"padding", std::vector<std::int64_t>{1, 1}}});
  const Shape xs{sh.n, sh.ic, sh.hw, sh.hw}, ws{sh.oc, sh.ic, 3, 3}, bs{sh.oc}, ys{sh.n, sh.oc, sh.hw, sh.hw};
  std::vector<float> x = filled(numel(xs)), w = filled(numel(ws)), b = filled(numel(bs)), y(numel(ys)),
                     dy = filled(numel(ys)), dx(numel(xs)), dw(numel(ws)), db(numel(bs));
  std::vector<float> work(op.workspace({xs, ws, bs}, attrs));
  const TensorRef<float> in[] = {{x.data(), xs}, {w.data(), ws}, {b.data(), bs}};
  const TensorRef<float> out[] = {{y.data(), ys}};
  const TensorRef<float> d_out[] = {{dy.data(), ys}};
  const TensorRef<float> d_data[] = {{dx.data(), xs}, {nullptr, ws}, {nullptr, bs}};
  const TensorRef<float> d_weights[] = {{nullptr, xs}, {dw.data(), ws}, {db.data(), bs}};
  const char accumulate[] = {0, 0, 0};
  OpArgs<float> a;
  a.in = {in, 3};
  a.out = {out, 1};
  a.workspace = work.data();
  a.workspace_size = work.size();
  a.attrs = &attrs;
  a.mode = training ? Mode::Train : Mode::Eval;
  const Kernels<float>& k = op.kernels<float>();
  // Rows too short to fill the 16-lane vectors stay with im2col + GEMM (conv_rows_path::wide_rows).
  const bool rows = conv_rows_path::wide_rows(sh.hw), direct_dw = rows && conv_dw_preferred();
  row(sh.name, training ? "forward_training" : "forward_inference", rows ? "plangrad conv_rows" : "plangrad im2col+GEMM",
      median_us([&] { k.forward(a); }));
  if (!training) return;
  a.d_out = {d_out, 1};
  a.accumulate = {accumulate, 3};
  a.d_in = {d_data, 3};
  // One input plane: the padded dy (F planes) does not fit in the workspace, col2im runs.
  row(sh.name, sh.ic == 1 ? "backward_data *" : "backward_data",
      sh.ic == 1 || !rows ? "plangrad GEMM+col2im" : "plangrad conv_rows", median_us([&] { k.backward(a); }));
  a.d_in = {d_weights, 3};
  row(sh.name, "backward_weights", direct_dw ? "plangrad conv_dw, db" : "plangrad im2col+GEMM, db",
      median_us([&] { k.backward(a); }));
  if (sh.ic != 1) {
    // What W4's step asks of its second convolution: dx, dw and db in one call.
    const TensorRef<float> d_all[] = {{dx.data(), xs}, {dw.data(), ws}, {db.data(), bs}};
    a.d_in = {d_all, 3};
    row(sh.name, "backward (all)", direct_dw ? "conv_rows dx, conv_dw dw" : rows ? "conv_rows dx, im2col dw" : "im2col+GEMM, col2im", median_us([&] { k.backward(a); }));
  }
  // dw alone: conv2d_nobias, as W4 has it (batchnorm follows each convolution).
  const OpDef& nobias = conv2d_nobias_op();
  std::vector<float> work_nb(nobias.workspace({xs, ws}, attrs));
  a.in = {in, 2};
  a.d_in = {d_weights, 2};
  a.accumulate = {accumulate, 2};
  a.workspace = work_nb.data();
  a.workspace_size = work_nb.size();
  const Kernels<float>& knb = nobias.kernels<float>();
  row(sh.name, "backward_weights dw", direct_dw ? "plangrad conv_dw" : "plangrad im2col+GEMM", median_us([&] { knb.backward(a); }));
}

}  // namespace

int main() {
  set_op_threads(1);
  std::printf("plangrad conv2d kernels, 1 thread, median CPU µs per call\n\n");
  std::printf("| %-24s | %-19s | %-7s | %-26s | %9s |\n", "convolution", "primitive", "layout", "implementation",
              "kernel");
  std::printf("|---|---|---|---|---:|\n");
  for (const ConvShape& sh : {ConvShape{"W4 conv1 b128 1->16 28²", 128, 1, 16, 28}, ConvShape{"W4 conv2 b128 16->32 14²", 128, 16, 32, 14},
                             ConvShape{"resnet b128 16->16 14²", 128, 16, 16, 14}, ConvShape{"resnet b128 32->32 7²", 128, 32, 32, 7},
                             ConvShape{"resnet b128 64->64 4²", 128, 64, 64, 4}})
    conv(sh, true);
  for (const ConvShape& sh : {ConvShape{"W5 conv1 b1 1->16 28²", 1, 1, 16, 28}, ConvShape{"W5 conv2 b1 16->32 14²", 1, 16, 32, 14},
                          ConvShape{"W5 conv1 b64 1->16 28²", 64, 1, 16, 28}, ConvShape{"W5 conv2 b64 16->32 14²", 64, 16, 32, 14}})
    conv(sh, false);
  std::printf("\n* not part of W4's step (the first convolution's input takes no gradient)\n");
  return 0;
}
