// LibTorch C++'s side of the side-by-side benchmark (bench/workloads.cpp is plangrad's,
// bench/torch_workloads.py PyTorch's; bench/run.sh alternates the three). The same models,
// batches, optimizers, float32 and kinds of input, written against torch::nn and
// torch::optim, so that the comparison does not rest on Python's per-op overhead.
//
//   W1, W2, W3, W4, W5-mlp, W5-cnn   as bench/workloads.cpp (fixed random inputs, reused)
//   W5-mlp-b64, W5-cnn-b64           the same inference at batch 64
//   W3-real, W4-real                 W3's / W4's training step on real Fashion-MNIST batches
//                                    (--data DIR), batch after batch in file order
//
// A training step is what a LibTorch user writes: model->zero_grad(set_to_none), forward,
// loss, backward(), optimizer step(). Inference: eval() under c10::InferenceMode (the Python
// side's torch.inference_mode()). Threads: at::set_num_threads(--threads),
// at::set_num_interop_threads(1). One JSON line per workload (harness.hpp), side "libtorch".
//
//   libtorch_workloads [--workloads W1,W3,...|all] [--iters N] [--warmup N] [--threads N]
//                      [--quick] [--data DIR]
#include <torch/torch.h>
#include <torch/version.h>

#include <ATen/Parallel.h>

#include "bench/peer_harness.hpp"

namespace nn = torch::nn;

namespace {

const std::vector<std::string>& kAll = harness::kTrainingPeerWorkloads;
using harness::default_iters;
using harness::kRealWarmup;
constexpr int kRealBatch = 128;

nn::Sequential mnist_mlp() {
  return nn::Sequential(nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 128), nn::ReLU(), nn::Linear(128, 10));
}

nn::Sequential mnist_cnn() {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 16, 3).padding(1)), nn::BatchNorm2d(16), nn::ReLU(),
                        nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Conv2d(nn::Conv2dOptions(16, 32, 3).padding(1)),
                        nn::BatchNorm2d(32), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Flatten(),
                        nn::Linear(1568, 10));
}

using LossFn = torch::Tensor (*)(const torch::Tensor&, const torch::Tensor&);
torch::Tensor mse(const torch::Tensor& out, const torch::Tensor& y) { return torch::mse_loss(out, y); }
torch::Tensor bce(const torch::Tensor& out, const torch::Tensor& y) {
  return torch::binary_cross_entropy_with_logits(out, y);
}
torch::Tensor cross_entropy(const torch::Tensor& out, const torch::Tensor& y) {
  return torch::cross_entropy_loss(out, y);
}

struct Training {
  nn::Sequential model;
  std::unique_ptr<torch::optim::Optimizer> opt;
  LossFn loss_fn = nullptr;
  torch::Tensor x, target;  // the fixed inputs (the real-batch workloads repoint them)
  std::string optimizer;
};

// Weights drawn after manual_seed(1), inputs after manual_seed(7), as the Python side (the
// draws differ from plangrad's and Python's: the same kinds, not the same values).
Training make_training(const std::string& name) {
  torch::manual_seed(1);
  Training t;
  const std::string base = name.substr(0, 2);
  if (base == "W1") {
    t.model = nn::Sequential(nn::Linear(2, 25), nn::ReLU(), nn::Linear(25, 25), nn::ReLU(), nn::Linear(25, 25),
                             nn::ReLU(), nn::Linear(25, 2), nn::Tanh());
    t.opt = std::make_unique<torch::optim::SGD>(t.model->parameters(), torch::optim::SGDOptions(0.1));
    t.loss_fn = mse;
    t.optimizer = "sgd";
    torch::manual_seed(7);
    t.x = torch::rand({100, 2});
    t.target = torch::one_hot(torch::randint(0, 2, {100}, torch::kLong), 2).to(torch::kFloat);
  } else if (base == "W2") {
    t.model = nn::Sequential(nn::Linear(2, 100), nn::BatchNorm1d(100), nn::ReLU(), nn::Linear(100, 50),
                             nn::BatchNorm1d(50), nn::ReLU(), nn::Linear(50, 20), nn::BatchNorm1d(20), nn::ReLU(),
                             nn::Linear(20, 1));
    t.opt = std::make_unique<torch::optim::SGD>(t.model->parameters(),
                                                torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-4));
    t.loss_fn = bce;
    t.optimizer = "sgd_momentum_wd";
    torch::manual_seed(7);
    t.x = torch::rand({64, 2});
    t.target = torch::randint(0, 2, {64, 1}, torch::kLong).to(torch::kFloat);
  } else if (base == "W3") {
    t.model = mnist_mlp();
    t.opt = std::make_unique<torch::optim::SGD>(t.model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    t.loss_fn = cross_entropy;
    t.optimizer = "sgd_momentum";
    torch::manual_seed(7);
    t.x = torch::rand({128, 784});
    t.target = torch::randint(0, 10, {128}, torch::kLong);
  } else if (base == "W4") {
    t.model = mnist_cnn();
    t.opt = std::make_unique<torch::optim::Adam>(t.model->parameters(), torch::optim::AdamOptions(1e-3));
    t.loss_fn = cross_entropy;
    t.optimizer = "adam";
    torch::manual_seed(7);
    t.x = torch::rand({128, 1, 28, 28});
    t.target = torch::randint(0, 10, {128}, torch::kLong);
  } else {
    throw std::invalid_argument("unknown workload '" + name + "'");
  }
  t.model->train();
  return t;
}

// Fashion-MNIST's training set as plangrad's load_mnist_dir reads it: [n, 784] pixels / 255
// and int64 labels, whole batches only.
struct RealData {
  torch::Tensor images, labels;
  int batches = 0;
};

RealData load_real(const std::string& dir) {
  const std::vector<std::uint8_t> img = harness::read_idx(dir, "train-images-idx3-ubyte", 0x803);
  const std::vector<std::uint8_t> lab = harness::read_idx(dir, "train-labels-idx1-ubyte", 0x801);
  const std::int64_t n = harness::be32(&img[4]), rows = harness::be32(&img[8]), cols = harness::be32(&img[12]);
  if (rows * cols != 784 || harness::be32(&lab[4]) != n || img.size() != std::size_t(16 + n * 784) ||
      lab.size() != std::size_t(8 + n))
    throw std::runtime_error(dir + ": not a 28x28 IDX image set with its labels");
  RealData d;
  d.images = torch::from_blob(const_cast<std::uint8_t*>(img.data()) + 16, {n, 784}, torch::kUInt8)
                 .to(torch::kFloat)
                 .div_(255.0f);
  d.labels = torch::from_blob(const_cast<std::uint8_t*>(lab.data()) + 8, {n}, torch::kUInt8).to(torch::kLong);
  d.batches = static_cast<int>(n / kRealBatch);
  if (d.batches == 0) throw std::runtime_error(dir + ": fewer images than one batch");
  return d;
}

void run_inference(const std::string& name, const harness::Args& a, int threads) {
  const bool mlp = name.rfind("W5-mlp", 0) == 0;
  const std::int64_t batch = name.size() > 6 && name.substr(name.size() - 4) == "-b64" ? 64 : 1;
  torch::manual_seed(1);
  nn::Sequential model = mlp ? mnist_mlp() : mnist_cnn();
  torch::manual_seed(7);
  const torch::Tensor x = mlp ? torch::rand({batch, 784}) : torch::rand({batch, 1, 28, 28});
  model->eval();
  c10::InferenceMode guard;
  torch::Tensor out;
  harness::time_steps("libtorch", name, "none", threads, harness::plan(a, default_iters(name)), {},
                      [&] { out = model->forward(x); }, {}, ",\"libtorch\":\"" TORCH_VERSION "\"");
}

void run_training(const std::string& name, const harness::Args& a, int threads) {
  Training t = make_training(name);
  const bool real = name.size() > 5 && name.substr(name.size() - 5) == "-real";
  RealData data;
  std::function<void(int)> prepare;
  std::string extra = ",\"libtorch\":\"" TORCH_VERSION "\"";
  if (real) {
    data = load_real(a.data);
    const bool cnn = name.rfind("W4", 0) == 0;
    // Batch i of the training set, in file order; a view, no copy (what a user's loop over
    // a tensor data set does), set before the step's clock starts.
    prepare = [&data, &t, cnn](int i) {
      const std::int64_t start = std::int64_t(i % data.batches) * kRealBatch;
      t.x = data.images.narrow(0, start, kRealBatch);
      if (cnn) t.x = t.x.view({kRealBatch, 1, 28, 28});
      t.target = data.labels.narrow(0, start, kRealBatch);
    };
    extra += ",\"data\":\"fashion-mnist train, file order\"";
  }
  torch::Tensor loss;
  const harness::Plan p = harness::plan(a, default_iters(name), real ? kRealWarmup : -1);
  harness::time_steps(
      "libtorch", name, t.optimizer, threads, p, prepare,
      [&] {
        t.model->zero_grad(/*set_to_none=*/true);
        loss = t.loss_fn(t.model->forward(t.x), t.target);
        loss.backward();
        t.opt->step();
      },
      [&] { return loss.item<double>(); }, extra);
}

}  // namespace

int main(int argc, char** argv) try {
  const harness::Args a = harness::parse(argc, argv);
  at::set_num_threads(a.threads);
  at::set_num_interop_threads(1);
  const int threads = at::get_num_threads();
  for (const std::string& name : harness::split(a.workloads, kAll)) {
    if (name.rfind("W5-", 0) == 0)
      run_inference(name, a, threads);
    else
      run_training(name, a, threads);
  }
  return 0;
} catch (const std::invalid_argument& e) {
  std::fprintf(stderr, "libtorch_workloads: %s\n", e.what());
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "libtorch_workloads: %s\n", e.what());
  return 1;
}
