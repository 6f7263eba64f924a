// The example networks, built with GraphBuilder: the circle MLP and its batchnorm variant,
// the MNIST MLP and CNN. Header-only, so the command-line program and the benchmarks can
// build the same graphs the examples train.
//
// Every model here takes PyTorch's default initialization (nn.Linear / nn.Conv2d:
// weight and bias U(±1/sqrt(fan_in)); nn.BatchNorm: gamma 1, beta 0, running mean 0,
// running variance 1), and uses these names:
//   inputs  "x" (features or images), "y" (circle targets) or "labels" (class indices)
//   outputs "out" / "logit" / "logits" (what a prediction reads), "loss" (the graph's
//           first output, which training plans differentiate by default)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/builder.hpp"

namespace plangrad::models {

// nn.Conv2d(in, out, k, padding=pad): weight [out, in, k, k], bias [out], both
// U(±1/sqrt(in·k·k)).
inline Value conv2d(GraphBuilder& b, const Value& x, Dim in, Dim out, Dim k, Dim pad, const std::string& name) {
  const Value w = b.parameter(name + ".weight", {out, in, k, k}, init::torch_default());
  const Value bias = b.parameter(name + ".bias", {out}, init::torch_default(in * k * k));
  return b.op("conv2d", {x, w, bias}, {{"padding", std::vector<std::int64_t>{pad, pad}}}, name);
}

// nn.BatchNorm1d / 2d(channels) over x [N, C] or [N, C, H, W]: gamma, beta trained; the
// running statistics are state, updated by Train-mode plans and used by Eval-mode ones.
inline Value batchnorm(GraphBuilder& b, const Value& x, Dim channels, const std::string& name) {
  const Value gamma = b.parameter(name + ".gamma", {channels}, init::constant(1));
  const Value beta = b.parameter(name + ".beta", {channels}, init::zeros());
  const Value mean = b.state(name + ".running_mean", {channels}, init::zeros());
  const Value var = b.state(name + ".running_var", {channels}, init::constant(1));
  return b.op("batchnorm", {x, gamma, beta, mean, var}, {}, name);
}

inline Value max_pool2(GraphBuilder& b, const Value& x, const std::string& name) {
  return b.op("max_pool2d", {x}, {{"kernel", std::vector<std::int64_t>{2, 2}}}, name);
}

// Circle, 2-25-25-25-2: ReLU hidden layers, tanh output "out" [N, 2], MSE against one-hot
// targets "y" [N, 2].
inline Model circle_mlp(std::uint64_t seed) {
  GraphBuilder b;
  const Init torch = init::torch_default();
  Value x = b.input("x", {kBatchDim, 2});
  Value y = b.input("y", {kBatchDim, 2});
  Value h = b.relu(b.dense(x, 25, "fc1", torch, torch));
  h = b.relu(b.dense(h, 25, "fc2", torch, torch));
  h = b.relu(b.dense(h, 25, "fc3", torch, torch));
  Value out = b.tanh(b.dense(h, 2, "fc4", torch, torch), "out");
  b.output(b.mse_loss(out, y, "loss"));
  return b.build(seed);
}

// Circle, 2-100-50-20-1 with dense -> batchnorm -> ReLU on the three hidden layers; one
// logit "logit" [N, 1] against the 0/1 label "y" [N, 1] (binary cross-entropy on logits).
inline Model circle_bn(std::uint64_t seed) {
  GraphBuilder b;
  const Init torch = init::torch_default();
  Value x = b.input("x", {kBatchDim, 2});
  Value y = b.input("y", {kBatchDim, 1});
  Value h = x;
  const Dim widths[] = {100, 50, 20};
  for (int i = 0; i < 3; ++i) {
    const std::string k = std::to_string(i + 1);
    h = b.dense(h, widths[i], "fc" + k, torch, torch);
    h = b.relu(batchnorm(b, h, widths[i], "bn" + k));
  }
  Value logit = b.dense(h, 1, "logit", torch, torch);
  b.output(b.binary_cross_entropy_with_logits(logit, y, "loss"));
  b.output(logit);
  return b.build(seed);
}

// MNIST MLP, 784-256-128-10 with ReLU: images "x" [N, 784], class indices "labels" [N],
// "logits" [N, 10], softmax cross-entropy "loss".
inline Model mnist_mlp(std::uint64_t seed) {
  GraphBuilder b;
  const Init torch = init::torch_default();
  Value x = b.input("x", {kBatchDim, 784});
  Value labels = b.input("labels", {kBatchDim});
  Value h = b.relu(b.dense(x, 256, "fc1", torch, torch));
  h = b.relu(b.dense(h, 128, "fc2", torch, torch));
  Value logits = b.dense(h, 10, "logits", torch, torch);
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  return b.build(seed);
}

// MNIST CNN: [conv 3x3 pad 1 -> batchnorm -> ReLU -> max-pool 2] with 16 then 32
// channels (28 -> 14 -> 7), flatten, dense 1568 -> 10. Images "x" [N, 1, 28, 28] (the
// same bytes as [N, 784]), "labels" [N], "logits" [N, 10], "loss".
inline Model mnist_cnn(std::uint64_t seed) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 1, 28, 28});
  Value labels = b.input("labels", {kBatchDim});
  Value h = x;
  Dim channels = 1;
  for (const Dim out : {16, 32}) {
    const std::string k = std::to_string(out);
    h = conv2d(b, h, channels, out, 3, 1, "conv" + k);
    h = b.relu(batchnorm(b, h, out, "bn" + k));
    h = max_pool2(b, h, "pool" + k);
    channels = out;
  }
  h = b.op("flatten", {h}, {}, "flatten");
  const Init torch = init::torch_default();
  Value logits = b.dense(h, 10, "logits", torch, torch);
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  return b.build(seed);
}

}  // namespace plangrad::models
