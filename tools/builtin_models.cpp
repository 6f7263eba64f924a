#include "tools/builtin_models.hpp"

#include <vector>

#include "engine/builder.hpp"
#include "engine/errors.hpp"

namespace plangrad::cli {
namespace {

// Each declares its graph on `b`: the loss first among the outputs, then the logits (or
// the prediction).
void circle(GraphBuilder& b) {
  Value x = b.input("x", {kBatchDim, 2}), y = b.input("y", {kBatchDim, 2});
  Value h = b.relu(b.dense(x, 25, "fc1"));
  h = b.relu(b.dense(h, 25, "fc2"));
  h = b.relu(b.dense(h, 25, "fc3"));
  Value out = b.tanh(b.dense(h, 2, "fc4"), "out");
  b.output(b.mse_loss(out, y, "loss"));
  b.output(out);
}

void residual(GraphBuilder& b) {
  Value x = b.input("x", {kBatchDim, 16}), labels = b.input("labels", {kBatchDim});
  Value h = b.relu(b.dense(x, 32, "fc1"));
  Value a = b.tanh(b.dense(h, 32, "fc2"));
  Value r = b.add(h, a, "residual");
  Value logits = b.dense(r, 10, "fc3");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
}

void mlp8x256(GraphBuilder& b) {
  Value x = b.input("x", {kBatchDim, 256}), labels = b.input("labels", {kBatchDim});
  Value h = x;
  for (int i = 1; i <= 8; ++i) h = b.relu(b.dense(h, 256, "fc" + std::to_string(i)));
  Value logits = b.dense(h, 10, "out");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
}

void mnist_mlp(GraphBuilder& b) {
  Value x = b.input("x", {kBatchDim, 784}), labels = b.input("labels", {kBatchDim});
  Value h = b.relu(b.dense(x, 256, "fc1"));
  h = b.relu(b.dense(h, 128, "fc2"));
  Value logits = b.dense(h, 10, "fc3");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
}

// Two blocks of conv 3x3 (padding 1, with bias) -> batchnorm -> relu -> max pool 2x2
// (1 -> 16 -> 32 channels, 28x28 -> 14x14 -> 7x7), then flatten and dense 1568 -> 10.
// The value names are those of the MNIST example's CNN (examples/models.hpp) and of
// bench_plan's, so a picture of this graph shows the example's model.
void mnist_cnn(GraphBuilder& b) {
  Value x = b.input("x", {kBatchDim, 1, 28, 28}), labels = b.input("labels", {kBatchDim});
  Value h = x;
  Dim channels = 1;
  for (Dim out : {16, 32}) {
    const std::string k = std::to_string(out);
    Value w = b.parameter("conv" + k + ".weight", {out, channels, 3, 3}, init::kaiming_uniform());
    Value bias = b.parameter("conv" + k + ".bias", {out}, init::zeros());
    h = b.op("conv2d", {h, w, bias}, {{"padding", std::vector<std::int64_t>{1, 1}}}, "conv" + k);
    Value gamma = b.parameter("bn" + k + ".gamma", {out}, init::constant(1));
    Value beta = b.parameter("bn" + k + ".beta", {out}, init::zeros());
    Value mean = b.state("bn" + k + ".running_mean", {out}, init::zeros());
    Value var = b.state("bn" + k + ".running_var", {out}, init::constant(1));
    h = b.relu(b.op("batchnorm", {h, gamma, beta, mean, var}, {}, "bn" + k));
    h = b.op("max_pool2d", {h}, {{"kernel", std::vector<std::int64_t>{2, 2}}}, "pool" + k);
    channels = out;
  }
  h = b.op("flatten", {h}, {}, "flatten");
  Value logits = b.dense(h, 10, "logits");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
}

struct Builtin {
  const char* name;
  void (*declare)(GraphBuilder&);
};

const Builtin kBuiltins[] = {
    {"circle", circle},     {"residual", residual},   {"mlp8x256", mlp8x256},
    {"mnist-mlp", mnist_mlp}, {"mnist-cnn", mnist_cnn},
};

GraphBuilder declare(const std::string& name) {
  for (const Builtin& m : kBuiltins) {
    if (name != m.name) continue;
    GraphBuilder b;
    m.declare(b);
    return b;
  }
  throw UsageError("unknown built-in model '" + name + "' (expected " + builtin_names() + ")");
}

}  // namespace

const char* builtin_names() { return "circle, residual, mlp8x256, mnist-mlp or mnist-cnn"; }

Graph builtin_graph(const std::string& name) { return declare(name).graph(); }

Model builtin_model(const std::string& name, std::uint64_t seed) { return declare(name).build(seed); }

}  // namespace plangrad::cli
