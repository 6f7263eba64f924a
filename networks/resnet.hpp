// The residual CNN for 28x28 grey images (Fashion-MNIST), declared once for the mnist
// example's --model resnet, `plangrad plan/dot --builtin fashion-resnet` and
// scripts/torch_mnist.py's twin (which must stay the same network):
//
//   x [N, 1, 28, 28] (-> normalize "x_norm")
//   stem:    conv 3x3 1 -> w1, batchnorm, ReLU, 2x2 max-pool           28 x 28 -> 14 x 14
//   stage 1: `blocks` residual blocks of width w1                      14 x 14
//   down 2:  conv 3x3 stride 2 w1 -> w2, batchnorm, ReLU                7 x 7
//   stage 2: `blocks` residual blocks of width w2
//   down 3:  conv 3x3 stride 2 w2 -> w3, batchnorm, ReLU                4 x 4
//   stage 3: `blocks` residual blocks of width w3
//   global average pooling [N, w3], dropout, dense w3 -> 10 "logits"
//   softmax cross-entropy "loss" against "labels" [N]
//
// A residual block is relu(x + bn(conv(relu(bn(conv(x)))))), both convolutions 3x3 with
// padding 1. Convolutions that feed a batchnorm have no bias (its beta is one); weights
// and the dense layer take PyTorch's default initialization, batchnorm gamma 1, beta 0.
// The stem pools so that the stages work on 14 x 14 and smaller planes: a quarter of the
// multiply-adds of stages at 28 x 28, which is what lets the recipe train enough epochs
// within its time budget on two cores.
#pragma once

#include "engine/builder.hpp"
#include "networks/models.hpp"

namespace plangrad::models {

// The sizes and regularization of the residual CNN (above).
struct ResnetShape {
  Dim widths[3] = {16, 32, 64};  // w1, w2, w3
  int blocks = 1;                // residual blocks per stage
  double dropout = 0.2;          // before the dense layer
  double label_smoothing = 0.0;  // of the loss
};

// The network above; with `stats`, a normalize node "x_norm" first.
GraphBuilder fashion_resnet(const ResnetShape& shape = {}, const InputStats* stats = nullptr);

}  // namespace plangrad::models
