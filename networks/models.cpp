#include "networks/models.hpp"

#include <cstdint>

namespace plangrad::models {

Value conv2d(GraphBuilder& b, const Value& x, Dim in, Dim out, Dim k, Dim pad, const std::string& name) {
  const Value w = b.parameter(name + ".weight", {out, in, k, k}, init::torch_default());
  const Value bias = b.parameter(name + ".bias", {out}, init::torch_default(in * k * k));
  return b.op("conv2d", {x, w, bias}, {{"padding", std::vector<std::int64_t>{pad, pad}}}, name);
}

Value batchnorm(GraphBuilder& b, const Value& x, Dim channels, const std::string& name) {
  const Value gamma = b.parameter(name + ".gamma", {channels}, init::constant(1));
  const Value beta = b.parameter(name + ".beta", {channels}, init::zeros());
  const Value mean = b.state(name + ".running_mean", {channels}, init::zeros());
  const Value var = b.state(name + ".running_var", {channels}, init::constant(1));
  return b.op("batchnorm", {x, gamma, beta, mean, var}, {}, name);
}

Value max_pool2(GraphBuilder& b, const Value& x, const std::string& name) {
  return b.op("max_pool2d", {x}, {{"kernel", std::vector<std::int64_t>{2, 2}}}, name);
}

GraphBuilder circle_mlp() {
  GraphBuilder b;
  const Init torch = init::torch_default();
  Value x = b.input("x", {kBatchDim, 2});
  Value y = b.input("y", {kBatchDim, 2});
  Value h = b.relu(b.dense(x, 25, "fc1", torch, torch));
  h = b.relu(b.dense(h, 25, "fc2", torch, torch));
  h = b.relu(b.dense(h, 25, "fc3", torch, torch));
  Value out = b.tanh(b.dense(h, 2, "fc4", torch, torch), "out");
  b.output(b.mse_loss(out, y, "loss"));
  b.output(out);
  return b;
}

GraphBuilder circle_bn() {
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
  return b;
}

GraphBuilder ball_cnn() {
  GraphBuilder b;
  const Init torch = init::torch_default();
  Value x = b.input("x", {kBatchDim, 3, 4, 4});
  Value y = b.input("y", {kBatchDim, 1});
  Value h = b.relu(conv2d(b, x, 3, 5, 3, 1, "conv1"));
  h = b.relu(conv2d(b, h, 5, 1, 3, 1, "conv2"));
  h = b.op("flatten", {h}, {}, "flatten");
  h = b.relu(b.dense(h, 10, "fc1", torch, torch));
  Value logit = b.dense(h, 1, "logit", torch, torch);
  b.output(b.binary_cross_entropy_with_logits(logit, y, "loss"));
  b.output(logit);
  return b;
}

GraphBuilder mnist_mlp() { return mlp(784, {256, 128}, 10); }

GraphBuilder mnist_mlp(const InputStats& stats) { return mlp(784, {256, 128}, 10, &stats); }

namespace {
GraphBuilder mnist_cnn_graph(const InputStats* stats) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 1, 28, 28});
  Value labels = b.input("labels", {kBatchDim});
  Value h = x;
  if (stats) h = b.op("normalize", {x}, {{"mean", stats->mean}, {"std", stats->std}}, "x_norm");
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
  return b;
}
}  // namespace

GraphBuilder mnist_cnn() { return mnist_cnn_graph(nullptr); }

GraphBuilder mnist_cnn(const InputStats& stats) { return mnist_cnn_graph(&stats); }

GraphBuilder residual_dag() {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 16}), labels = b.input("labels", {kBatchDim});
  Value h = b.relu(b.dense(x, 32, "fc1"));
  Value a = b.tanh(b.dense(h, 32, "fc2"));
  Value r = b.add(h, a, "residual");
  Value logits = b.dense(r, 10, "logits");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  return b;
}

GraphBuilder mlp(Dim in, const std::vector<Dim>& hidden, Dim classes, const InputStats* stats) {
  GraphBuilder b;
  const Init torch = init::torch_default();
  Value x = b.input("x", {kBatchDim, in});
  Value labels = b.input("labels", {kBatchDim});
  Value h = x;
  if (stats) h = b.op("normalize", {x}, {{"mean", stats->mean}, {"std", stats->std}}, "x_norm");
  for (std::size_t i = 0; i < hidden.size(); ++i)
    h = b.relu(b.dense(h, hidden[i], "fc" + std::to_string(i + 1), torch, torch));
  Value logits = b.dense(h, classes, "logits", torch, torch);
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  return b;
}

}  // namespace plangrad::models
