// The example graphs that the planner and executor tests share, with deterministic data:
// the circle MLP (2-25-25-25-2) and a small residual DAG with fan-out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/builder.hpp"
#include "core/random.hpp"

namespace plangrad::testing {

// 2-16-16-2 with softmax cross-entropy against class labels "labels" [N]; "logits" [N, 2].
inline Model small_classifier(std::uint64_t seed) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2}), labels = b.input("labels", {kBatchDim});
  Value h = b.relu(b.dense(x, 16, "fc1"));
  h = b.relu(b.dense(h, 16, "fc2"));
  Value logits = b.dense(h, 2, "logits");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  return b.build(seed);
}

// A binary classifier with one logit "logit" [N, 1] = x0 - x1 (weights set, bias 0) on
// x [N, 2], binary cross-entropy "loss". Its target is "y" [N, 1], or, with
// `labels_input`, "labels" [N] as a model file for `plangrad eval` declares it (the logit
// then flattened to [N] for the loss).
inline Model one_logit_classifier(bool labels_input) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2});
  Value logit = b.dense(x, 1, "logit");
  if (labels_input) {
    Value labels = b.input("labels", {kBatchDim});
    Value flat = b.op("reshape", {logit}, {{"shape", std::vector<std::int64_t>{-1}}}, "logit_flat");
    b.output(b.binary_cross_entropy_with_logits(flat, labels, "loss"));
  } else {
    Value y = b.input("y", {kBatchDim, 1});
    b.output(b.binary_cross_entropy_with_logits(logit, y, "loss"));
  }
  b.output(logit);
  Model m = b.build(1);
  m.parameter("logit.weight") = Tensor<float>({2, 1}, {1.0f, -1.0f});
  m.parameter("logit.bias") = Tensor<float>({1}, {0.0f});
  return m;
}

// x[N,2] -> (dense 25, relu) x3 -> dense 2 "logits" -> softmax_cross_entropy(labels[N]) "loss"
inline Model circle_mlp(std::uint64_t seed) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2});
  Value labels = b.input("labels", {kBatchDim});
  Value h = b.relu(b.dense(x, 25, "fc1"), "relu1");
  h = b.relu(b.dense(h, 25, "fc2"), "relu2");
  h = b.relu(b.dense(h, 25, "fc3"), "relu3");
  Value logits = b.dense(h, 2, "logits");
  Value loss = b.softmax_cross_entropy(logits, labels, "loss");
  b.output(loss);
  b.output(logits);
  return b.build(seed);
}

// x[N,4] -> fc1 (dense 16) -> relu "h"
//   h -> fc2 (dense 16) -> tanh "a";   h + a -> "res"  (the residual add)
//   res -> head (dense 3)
//   h -> side (dense 3) -> sigmoid "side_act"           (a second branch off h)
//   head + side_act -> "logits" -> softmax_cross_entropy(labels[N]) -> "loss"
// h fans out three ways (fc2, res, side); fc1's pre-activation is the value "fc1".
inline Model residual_dag(std::uint64_t seed) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 4});
  Value labels = b.input("labels", {kBatchDim});
  Value h = b.relu(b.dense(x, 16, "fc1"), "h");
  Value a = b.tanh(b.dense(h, 16, "fc2"), "a");
  Value res = b.add(h, a, "res");
  Value head = b.dense(res, 3, "head");
  Value side = b.sigmoid(b.dense(h, 3, "side"), "side_act");
  Value logits = b.add(head, side, "logits");
  Value loss = b.softmax_cross_entropy(logits, labels, "loss");
  b.output(loss);
  b.output(logits);
  return b.build(seed);
}

// A batch of n rows of `features` uniform values in [-1, 1) and class labels in [0, classes).
template <class T>
struct Batch {
  std::vector<T> x;
  std::vector<T> labels;
};

template <class T>
Batch<T> random_batch(std::size_t n, std::size_t features, std::size_t classes, std::uint64_t seed) {
  Rng rng(seed);
  Batch<T> batch;
  for (std::size_t i = 0; i < n * features; ++i) batch.x.push_back(static_cast<T>(rng.uniform(-1.0, 1.0)));
  for (std::size_t i = 0; i < n; ++i)
    batch.labels.push_back(static_cast<T>(static_cast<std::size_t>(rng.uniform() * static_cast<double>(classes))));
  return batch;
}

}  // namespace plangrad::testing
