// The networks `plangrad new` writes. The MLP (`new mlp`), for tabular data: its inputs are named as
// `plangrad train --data FILE.csv` fills them (engine/task_roles.hpp reads the task from
// the loss), and it carries its feature scaling (a standardize node whose mean and std
// `train --standardize` fits):
//   "x" [N, F] -> standardize "x_std" (state "x.mean", "x.std"; identity until fitted)
//     -> [dense "fcI" -> batchnorm "bnI" (optional) -> activation] per hidden width
//     -> head:
//   classification  dense "logits" [N, C]; "labels" [N] class indices;
//                   softmax_cross_entropy "loss"; outputs "loss", "logits"
//   binary          dense "logit" [N, 1]; "y" [N, 1] 0/1 labels;
//                   binary_cross_entropy_with_logits "loss"; outputs "loss", "logit"
//   regression      dense "out" [N, K] in standardized units; "y" [N, K] standardized by
//                   "y_std" (state "y.mean", "y.std"); mse_loss "loss" between them;
//                   "prediction" = standardize(out, inverse=1) in y's units; outputs
//                   "loss", "prediction"
// Dense layers and batchnorm take PyTorch's default initialization (networks/models.hpp).
#pragma once

#include <string>
#include <vector>

#include "engine/builder.hpp"
#include "engine/task_roles.hpp"

namespace plangrad::models {

struct TabularMlp {
  Dim features = 0;              // F >= 1
  std::vector<Dim> hidden;       // widths, each >= 1; empty: a linear model
  std::string activation = "relu";  // relu, tanh or sigmoid
  bool batchnorm = false;        // a batchnorm after each hidden dense layer
  Task task = Task::Classification;
  Dim outputs = 0;               // classification: C >= 2 classes; regression: K >= 1 targets; binary: unused
};

// A UsageError names the field that is out of range.
GraphBuilder tabular_mlp(const TabularMlp& spec);

// The CNN `plangrad new cnn` writes, for images (IDX folders, or tables of pixel columns):
//   "x" [N, C, H, W] -> [conv 3x3 pad 1 "convI" -> batchnorm "bnI" (optional) -> ReLU
//   -> 2x2 max-pool "poolI"] per channel width -> flatten -> dense "logits" [N, K];
//   "labels" [N]; softmax_cross_entropy "loss"; outputs "loss", "logits"
// (networks/models.hpp's MNIST CNN is this with C, H, W = 1, 28, 28, widths 16, 32,
// batchnorm, 10 classes).
struct ImageCnn {
  Dim channels = 1, height = 0, width = 0;  // the image, each >= 1
  std::vector<Dim> widths;                  // output channels per block, each >= 1
  bool batchnorm = false;
  Dim classes = 0;  // K >= 2
};
// A UsageError names the field that is out of range, or the block whose pooling leaves no
// pixel.
GraphBuilder image_cnn(const ImageCnn& spec);

}  // namespace plangrad::models
