// bench_batchnorm: plangrad's batchnorm kernels (ops/batchnorm.cpp) in Train mode on the
// shapes of the workloads: W4's two batchnorms at batch 128 (images, [N, C, H, W]) and W2's
// three at batch 64 ([N, F]). Forward, then the backward asked for dx, dgamma and dbeta, dx
// written over dy (as a training plan places them). The kernels are called directly,
// outside any plan. One thread
// (set_op_threads(1)); the median of this thread's CPU time per call, as bench_conv measures.
//
//   OPENBLAS_NUM_THREADS=1 bench_batchnorm [NAME]   (NAME: only the rows whose name holds it)
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <vector>

#include "bench/cpu_time.hpp"
#include "kernels/parallel.hpp"
#include "ops/batchnorm.hpp"

using namespace plangrad;

namespace {

double median_us(const std::function<void()>& f) { return bench_clock::median_us(f, 30, 3e5); }

// dy as it reaches a batchnorm followed by relu and max-pool: zero in most places.
std::vector<float> filled(std::size_t n, bool mostly_zero) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t h = (i * 2654435761u) % 1000;
    v[i] = mostly_zero && h % 5 != 0 ? 0.0f : static_cast<float>(h) * 1e-3f - 0.3f;
  }
  return v;
}

const char* g_only = nullptr;

void bench(const char* name, const Shape& xs) {
  if (g_only && !std::strstr(name, g_only)) return;
  const OpDef& op = batchnorm_op();
  const Attrs attrs = normalize_attrs(op, "bn", {});
  const Shape cs{xs[1]};
  std::vector<float> x = filled(numel(xs), false), dy = filled(numel(xs), true), y(numel(xs));
  // gamma * inv_std about 1 (x's variance is about 1/12), so that dx written over dy call
  // after call keeps its scale.
  std::vector<float> gamma(numel(cs), 0.2887f), beta(numel(cs), 0.1f), rm(numel(cs), 0.0f), rv(numel(cs), 1.0f),
      dgamma(numel(cs)), dbeta(numel(cs));
  std::vector<float> saved(op.saved({xs, cs, cs, cs, cs}, attrs));
  const TensorRef<float> in[] = {{x.data(), xs}, {gamma.data(), cs}, {beta.data(), cs}, {rm.data(), cs}, {rv.data(), cs}};
  const TensorRef<float> out[] = {{y.data(), xs}};
  const TensorRef<float> d_out[] = {{dy.data(), xs}};
  const TensorRef<float> d_in[] = {{dy.data(), xs}, {dgamma.data(), cs}, {dbeta.data(), cs}, {nullptr, cs}, {nullptr, cs}};
  const char accumulate[] = {0, 0, 0, 0, 0};
  OpArgs<float> a;
  a.in = {in, 5};
  a.out = {out, 1};
  a.saved = saved.data();
  a.attrs = &attrs;
  a.mode = Mode::Train;
  a.d_out = {d_out, 1};
  a.accumulate = {accumulate, 5};
  a.d_in = {d_in, 5};
  const Kernels<float>& k = op.kernels<float>();
  const double fwd = median_us([&] { k.forward(a); });
  const double bwd = median_us([&] { k.backward(a); });
  std::printf("| %-26s | %9.1f | %9.1f |\n", name, fwd, bwd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_only = argv[1];
  set_op_threads(1);
  std::printf("plangrad batchnorm kernels, Train mode, 1 thread, median CPU µs per call\n\n");
  std::printf("| %-26s | %9s | %9s |\n", "batchnorm", "forward", "backward");
  std::printf("|---|---:|---:|\n");
  bench("W4 bn1 b128 16x28x28", {128, 16, 28, 28});
  bench("W4 bn2 b128 32x14x14", {128, 32, 14, 14});
  bench("W2 bn1 b64 100", {64, 100});
  bench("W2 bn2 b64 50", {64, 50});
  bench("W2 bn3 b64 20", {64, 20});
  return 0;
}
