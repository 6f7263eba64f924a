// The networks of the examples, the benchmarks and `plangrad plan/dot --builtin`, each
// declared once: a function returns the GraphBuilder holding it, so a caller takes either
// `.graph()` (to plan it) or `.build(seed)` (a Model with initialized parameters).
//
// The example networks take PyTorch's default initialization (nn.Linear / nn.Conv2d:
// weight and bias U(±1/sqrt(fan_in)); nn.BatchNorm: gamma 1, beta 0, running mean 0,
// running variance 1), and use these names:
//   inputs  "x" (features or images), "y" (circle targets) or "labels" (class indices)
//   outputs "loss" (the graph's first output, which training plans differentiate by
//           default), then "out" / "logit" / "logits" (what a prediction reads)
#pragma once

#include <string>
#include <vector>

#include "engine/builder.hpp"

namespace plangrad::models {

// Layers made of several parameters and one op.
// nn.Conv2d(in, out, k, padding=pad): weight [out, in, k, k], bias [out], U(±1/sqrt(in·k·k)).
Value conv2d(GraphBuilder& b, const Value& x, Dim in, Dim out, Dim k, Dim pad, const std::string& name);
// nn.BatchNorm1d / 2d(channels) over x [N, C] or [N, C, H, W]: gamma and beta trained; the
// running statistics are state, updated by Train-mode plans and used by Eval-mode ones.
Value batchnorm(GraphBuilder& b, const Value& x, Dim channels, const std::string& name);
// 2x2 max pooling, stride 2.
Value max_pool2(GraphBuilder& b, const Value& x, const std::string& name);

// Circle, 2-25-25-25-2: ReLU hidden layers, tanh output "out" [N, 2], MSE against one-hot
// targets "y" [N, 2].
GraphBuilder circle_mlp();
// Circle, 2-100-50-20-1 with dense -> batchnorm -> ReLU on the three hidden layers; one
// logit "logit" [N, 1] against the 0/1 label "y" [N, 1] (binary cross-entropy on logits).
GraphBuilder circle_bn();
// The ball task (networks/ball.hpp): images "x" [N, 3, 4, 4] (the bytes of [N, 48]), conv
// 3 -> 5 (3x3, padding 1) -> ReLU, conv 5 -> 1 (3x3, padding 1) -> ReLU, flatten [N, 16],
// dense 16 -> 10 -> ReLU, dense 10 -> 1: one logit "logit" [N, 1] against the 0/1 label
// "y" [N, 1] (binary cross-entropy on logits, as circle_bn).
GraphBuilder ball_cnn();
// Input standardization statistics: the graph's first node computes (x - mean) / std
// (the normalize op), so a saved model carries its preprocessing.
struct InputStats {
  double mean = 0.0;
  double std = 1.0;
};

// MNIST MLP, 784-256-128-10 with ReLU: images "x" [N, 784], class indices "labels" [N],
// "logits" [N, 10], softmax cross-entropy "loss". With `stats`, a normalize node "x_norm"
// standardizes the pixels before the first layer.
GraphBuilder mnist_mlp();
GraphBuilder mnist_mlp(const InputStats& stats);
// MNIST CNN: [conv 3x3 pad 1 -> batchnorm -> ReLU -> max-pool 2] with 16 then 32 channels
// (28 -> 14 -> 7), flatten, dense 1568 -> 10. Images "x" [N, 1, 28, 28] (the same bytes as
// [N, 784]), "labels" [N], "logits" [N, 10], "loss".
GraphBuilder mnist_cnn();
GraphBuilder mnist_cnn(const InputStats& stats);  // a normalize node "x_norm" first
// A DAG with fan-out and a residual add: x [N,16] -> fc1 -> relu = h; h -> fc2 -> tanh = a;
// h + a -> fc3 = "logits" [N, 10]; softmax cross-entropy "loss".
GraphBuilder residual_dag();
// An MLP with ReLU hidden layers of the given widths and softmax cross-entropy: "x"
// [N, in], "labels" [N], "logits" [N, classes], "loss"; with `stats`, a normalize node
// "x_norm" first.
GraphBuilder mlp(Dim in, const std::vector<Dim>& hidden, Dim classes,
                 const InputStats* stats = nullptr);

}  // namespace plangrad::models
