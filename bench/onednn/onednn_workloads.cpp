// oneDNN's side of the side-by-side benchmark (bench/workloads.cpp is plangrad's,
// bench/libtorch/ LibTorch's; bench/run.sh alternates them): the same models, batches,
// optimizers, float32 and kinds of input, written by hand against oneDNN 2.6 (Debian's
// libdnnl-dev, the library PyTorch runs its CPU convolutions through), layer by layer
// (layers.hpp): inner_product, convolution (direct), batch_normalization, eltwise, pooling,
// forward and backward primitives, format_tag::any everywhere oneDNN may choose (the CNN's
// activations in nChw16c, blocked weights), the losses and optimizers as plain loops.
//
//   W1, W2, W3, W4, W5-mlp, W5-cnn   as bench/workloads.cpp (fixed random inputs, reused)
//   W5-mlp-b64, W5-cnn-b64           the same inference at batch 64 (forward_inference;
//                                    batchnorm with global statistics)
//   W3-real, W4-real                 W3's / W4's training step on real Fashion-MNIST batches
//                                    (--data DIR), batch after batch in file order
//
// A training step: every forward primitive, the loss and its gradient, every backward
// primitive (no backward-data for the first layer: its input takes no gradient), the
// optimizer update. The input is the first primitive's plain layout (nc, or nchw for the
// CNN), so no reorder of it is needed. Threads: oneDNN's OpenMP runtime,
// omp_set_num_threads(--threads). One JSON line per workload (bench/peer_harness.hpp), side
// "onednn", with "onednn_impls": the implementation oneDNN chose for each primitive.
//
//   onednn_workloads [--workloads W1,W3,...|all] [--iters N] [--warmup N] [--threads N]
//                    [--quick] [--data DIR]
#include <omp.h>

#include "bench/onednn/layers.hpp"
#include "bench/peer_harness.hpp"

using namespace onednn;

namespace {

const std::vector<std::string>& kAll = harness::kTrainingPeerWorkloads;
using harness::default_iters;
using harness::kRealWarmup;

#define ONEDNN_STR2(x) #x
#define ONEDNN_STR(x) ONEDNN_STR2(x)
const char* const kVersion =
    ONEDNN_STR(DNNL_VERSION_MAJOR) "." ONEDNN_STR(DNNL_VERSION_MINOR) "." ONEDNN_STR(DNNL_VERSION_PATCH);

// x [N, in] (plain nc) -> inner products of `widths`, ReLU between them (`bn`: batchnorm
// before each ReLU, W2), `out_act` after the last (undef: none).
Net mlp(Ctx& c, const memory::desc& x, const std::vector<memory::dim>& widths, algorithm out_act, bool bn,
        bool training) {
  Net n;
  memory::desc md = x;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    md = n.add<Dense>(c, md, widths[i], training, /*need_dx=*/i > 0);
    if (i + 1 == widths.size()) break;
    if (bn) md = n.add<BatchNorm>(c, md, training);
    md = n.add<Eltwise>(c, md, algorithm::eltwise_relu, training);
  }
  if (out_act != algorithm::undef) n.add<Eltwise>(c, md, out_act, training);
  return n;
}

// x [N, 1, 28, 28] (nchw) -> (conv 3x3, batchnorm, ReLU, max-pool 2) for 16 and 32
// channels, all in oneDNN's chosen layout, then the inner product 1568 -> 10 reading it.
Net cnn(Ctx& c, const memory::desc& x, bool training) {
  Net n;
  memory::desc md = x;
  bool first = true;
  for (memory::dim out : {16, 32}) {
    md = n.add<Conv>(c, md, out, training, /*need_dx=*/!first);
    md = n.add<BatchNorm>(c, md, training);
    md = n.add<Eltwise>(c, md, algorithm::eltwise_relu, training);
    md = n.add<MaxPool>(c, md, training);
    first = false;
  }
  n.add<Dense>(c, md, 10, training, true);
  return n;
}

// Softmax cross-entropy (mean over the batch) of logits [N, C]: loss, and dlogits.
float softmax_ce(const float* z, const int* labels, float* dz, std::size_t N, std::size_t C) {
  double loss = 0;
  for (std::size_t n = 0; n < N; ++n) {
    const float* r = z + n * C;
    const float mx = *std::max_element(r, r + C);
    float sum = 0;
    for (std::size_t j = 0; j < C; ++j) sum += std::exp(r[j] - mx);
    const float inv = 1.0f / sum;
    loss += std::log(sum) + mx - r[labels[n]];
    for (std::size_t j = 0; j < C; ++j)
      dz[n * C + j] = (std::exp(r[j] - mx) * inv - (static_cast<int>(j) == labels[n] ? 1.0f : 0.0f)) / N;
  }
  return static_cast<float>(loss / N);
}

// Mean squared error (mean over all elements) of o against y: loss, and do.
float mse(const float* o, const float* y, float* d, std::size_t n) {
  double loss = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float e = o[i] - y[i];
    loss += e * e;
    d[i] = 2.0f * e / n;
  }
  return static_cast<float>(loss / n);
}

// Binary cross-entropy with logits (mean) of z against y in {0, 1}: loss, and dz.
float bce_logits(const float* z, const float* y, float* d, std::size_t n) {
  double loss = 0;
  for (std::size_t i = 0; i < n; ++i) {
    loss += std::max(z[i], 0.0f) - z[i] * y[i] + std::log1p(std::exp(-std::fabs(z[i])));
    d[i] = (1.0f / (1.0f + std::exp(-z[i])) - y[i]) / n;
  }
  return static_cast<float>(loss / n);
}

// PyTorch's SGD: weight decay into the gradient, then momentum (the first step's buffer is
// the gradient itself).
void sgd(std::vector<Param*>& ps, float lr, float momentum, float weight_decay) {
  for (Param* p : ps) {
    float *w = ptr(p->w), *g = ptr(p->g);
    const std::size_t n = count(p->w);
    if (weight_decay != 0)
      for (std::size_t i = 0; i < n; ++i) g[i] += weight_decay * w[i];
    if (momentum == 0) {
      for (std::size_t i = 0; i < n; ++i) w[i] -= lr * g[i];
      continue;
    }
    if (p->s1.empty()) {
      p->s1.assign(g, g + n);
    } else {
      for (std::size_t i = 0; i < n; ++i) p->s1[i] = momentum * p->s1[i] + g[i];
    }
    const float* b = p->s1.data();
    for (std::size_t i = 0; i < n; ++i) w[i] -= lr * b[i];
  }
}

// PyTorch's Adam (betas 0.9, 0.999, eps 1e-8, no weight decay).
void adam(std::vector<Param*>& ps, float lr, int t) {
  const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
  const float c1 = 1.0f - std::pow(b1, static_cast<float>(t)), c2 = 1.0f - std::pow(b2, static_cast<float>(t));
  const float step = lr / c1, rc2 = 1.0f / std::sqrt(c2);
  for (Param* p : ps) {
    float *w = ptr(p->w), *g = ptr(p->g);
    const std::size_t n = count(p->w);
    if (p->s1.empty()) p->s1.assign(n, 0.0f), p->s2.assign(n, 0.0f);
    float *m = p->s1.data(), *v = p->s2.data();
    for (std::size_t i = 0; i < n; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      w[i] -= step * m[i] / (std::sqrt(v[i]) * rc2 + eps);
    }
  }
}

std::string impls_json(const Ctx& c) {
  std::string s;
  for (const std::string& i : c.impls) s += (s.empty() ? "" : ",") + i;
  return ",\"onednn\":\"" + std::string(kVersion) + "\",\"onednn_impls\":\"" + s + "\"";
}

// Fashion-MNIST's training set as plangrad's load_mnist_dir reads it: pixels / 255 as
// float32 rows of 784, labels as class indices.
struct RealData {
  std::vector<float> images;
  std::vector<int> labels;
  std::size_t batches = 0;
};

RealData load_real(const std::string& dir, std::size_t batch) {
  const std::vector<std::uint8_t> img = harness::read_idx(dir, "train-images-idx3-ubyte", 0x803);
  const std::vector<std::uint8_t> lab = harness::read_idx(dir, "train-labels-idx1-ubyte", 0x801);
  const std::size_t n = harness::be32(&img[4]), rows = harness::be32(&img[8]), cols = harness::be32(&img[12]);
  if (rows * cols != 784 || harness::be32(&lab[4]) != n || img.size() != 16 + n * 784 || lab.size() != 8 + n)
    throw std::runtime_error(dir + ": not a 28x28 IDX image set with its labels");
  RealData d;
  d.images.resize(n * 784);
  std::transform(img.begin() + 16, img.end(), d.images.begin(), [](std::uint8_t v) { return v / 255.0f; });
  d.labels.assign(lab.begin() + 8, lab.end());
  d.batches = n / batch;
  if (d.batches == 0) throw std::runtime_error(dir + ": fewer images than one batch");
  return d;
}

void run_training(const std::string& name, const harness::Args& a, int threads) {
  Ctx c;
  const std::string base = name.substr(0, 2);
  const bool real = name.size() > 5 && name.substr(name.size() - 5) == "-real";
  const memory::dim N = base == "W1" ? 100 : base == "W2" ? 64 : 128;
  const std::size_t C = base == "W1" ? 2 : base == "W2" ? 1 : 10;
  const memory::desc x_md = base == "W4"                   ? memory::desc({N, 1, 28, 28}, dt::f32, tag::nchw)
                            : base == "W1" || base == "W2" ? memory::desc({N, 2}, dt::f32, tag::nc)
                                                           : memory::desc({N, 784}, dt::f32, tag::nc);
  Net net = base == "W1"   ? mlp(c, x_md, {25, 25, 25, 2}, algorithm::eltwise_tanh_use_dst_for_bwd, false, true)
            : base == "W2" ? mlp(c, x_md, {100, 50, 20, 1}, algorithm::undef, true, true)
            : base == "W3" ? mlp(c, x_md, {256, 128, 10}, algorithm::undef, false, true)
                           : cnn(c, x_md, true);
  memory x(x_md, c.eng);
  fill_uniform(c, ptr(x), count(x), 0.0f, 1.0f);
  std::vector<int> labels(static_cast<std::size_t>(N));
  for (int& l : labels) l = static_cast<int>(c.rng() % (C == 1 ? 2 : C));
  std::vector<float> target(static_cast<std::size_t>(N) * C, 0.0f);  // W1: one-hot; W2: the 0/1 label
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (C == 1) target[i] = static_cast<float>(labels[i]);
    else target[i * C + static_cast<std::size_t>(labels[i])] = 1.0f;
  const int* batch_labels = labels.data();

  RealData data;
  std::function<void(int)> prepare;
  std::string extra = impls_json(c);
  if (real) {
    data = load_real(a.data, static_cast<std::size_t>(N));
    // Batch i of the training set, in file order: the input memory points at it (no copy,
    // as the LibTorch side's view), set before the step's clock starts.
    prepare = [&](int i) {
      const std::size_t start = static_cast<std::size_t>(i) % data.batches * static_cast<std::size_t>(N);
      x.set_data_handle(data.images.data() + start * 784);
      batch_labels = data.labels.data() + start;
    };
    extra += ",\"data\":\"fashion-mnist train, file order\"";
  }

  memory dout(memory::desc({N, static_cast<memory::dim>(C)}, dt::f32, tag::nc), c.eng);
  std::vector<Param*> ps = net.params();
  float loss = 0;
  int t = 0;
  auto step = [&] {
    const memory& out = net.forward(c, x);
    c.s.wait();
    if (base == "W1") loss = mse(ptr(out), target.data(), ptr(dout), count(out));
    else if (base == "W2") loss = bce_logits(ptr(out), target.data(), ptr(dout), count(out));
    else loss = softmax_ce(ptr(out), batch_labels, ptr(dout), static_cast<std::size_t>(N), C);
    net.backward(c, dout);
    c.s.wait();
    if (base == "W1") sgd(ps, 0.1f, 0.0f, 0.0f);
    else if (base == "W2") sgd(ps, 0.1f, 0.9f, 1e-4f);
    else if (base == "W3") sgd(ps, 0.01f, 0.9f, 0.0f);
    else adam(ps, 1e-3f, ++t);
  };
  const std::string opt = base == "W1" ? "sgd" : base == "W2" ? "sgd_momentum_wd" : base == "W3" ? "sgd_momentum" : "adam";
  harness::time_steps("onednn", name, opt, threads, harness::plan(a, default_iters(name), real ? kRealWarmup : -1),
                      prepare, step, [&] { return double(loss); }, extra);
}

void run_inference(const std::string& name, const harness::Args& a, int threads) {
  Ctx c;
  const bool cnn_model = name.rfind("W5-cnn", 0) == 0;
  const memory::dim batch = name.size() > 4 && name.substr(name.size() - 4) == "-b64" ? 64 : 1;
  const memory::desc x_md = cnn_model ? memory::desc({batch, 1, 28, 28}, dt::f32, tag::nchw)
                                      : memory::desc({batch, 784}, dt::f32, tag::nc);
  Net net = cnn_model ? cnn(c, x_md, false) : mlp(c, x_md, {256, 128, 10}, algorithm::undef, false, false);
  memory x(x_md, c.eng);
  fill_uniform(c, ptr(x), count(x), 0.0f, 1.0f);
  const memory* out = nullptr;
  harness::time_steps(
      "onednn", name, "none", threads, harness::plan(a, default_iters(name)), {},
      [&] {
        out = &net.forward(c, x);
        c.s.wait();
      },
      {}, impls_json(c));
}

}  // namespace

int main(int argc, char** argv) try {
  const harness::Args a = harness::parse(argc, argv);
  omp_set_num_threads(a.threads);
  const int threads = omp_get_max_threads();
  for (const std::string& name : harness::split(a.workloads, kAll)) {
    if (name.rfind("W5-", 0) == 0)
      run_inference(name, a, threads);
    else
      run_training(name, a, threads);
  }
  return 0;
} catch (const std::invalid_argument& e) {
  std::fprintf(stderr, "onednn_workloads: %s\n", e.what());
  return 2;
} catch (const dnnl::error& e) {
  std::fprintf(stderr, "onednn_workloads: oneDNN error %d: %s\n", static_cast<int>(e.status), e.what());
  return 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "onednn_workloads: %s\n", e.what());
  return 1;
}
