#include "networks/tabular.hpp"

#include <cstdint>

#include "core/errors.hpp"
#include "networks/models.hpp"

namespace plangrad::models {
namespace {

Value standardize(GraphBuilder& b, const Value& x, Dim columns, const std::string& value, const std::string& name) {
  const Value mean = b.state(value + ".mean", {columns}, init::zeros());
  const Value sd = b.state(value + ".std", {columns}, init::constant(1));
  return b.op("standardize", {x, mean, sd}, {{"inverse", std::int64_t{0}}}, name);
}

}  // namespace

GraphBuilder tabular_mlp(const TabularMlp& spec) {
  if (spec.features < 1) throw UsageError("an MLP needs at least one feature, got " + std::to_string(spec.features));
  for (const Dim w : spec.hidden)
    if (w < 1) throw UsageError("a hidden layer needs at least one unit, got " + std::to_string(w));
  if (spec.activation != "relu" && spec.activation != "tanh" && spec.activation != "sigmoid")
    throw UsageError("the activation must be relu, tanh or sigmoid, got '" + spec.activation + "'");
  if (spec.task == Task::Classification && spec.outputs < 2)
    throw UsageError("a classifier tells at least 2 classes apart, got " + std::to_string(spec.outputs) +
                     " (for two classes, --task binary takes one logit)");
  if (spec.task == Task::Regression && spec.outputs < 1)
    throw UsageError("a regression predicts at least one target, got " + std::to_string(spec.outputs));

  GraphBuilder b;
  const Init torch = init::torch_default();
  const Value x = b.input("x", {kBatchDim, spec.features});
  Value h = standardize(b, x, spec.features, "x", "x_std");
  for (std::size_t i = 0; i < spec.hidden.size(); ++i) {
    const std::string k = std::to_string(i + 1);
    h = b.dense(h, spec.hidden[i], "fc" + k, torch, torch);
    if (spec.batchnorm) h = batchnorm(b, h, spec.hidden[i], "bn" + k);
    if (spec.activation == "relu") h = b.relu(h);
    else if (spec.activation == "tanh") h = b.tanh(h);
    else h = b.sigmoid(h);
  }
  switch (spec.task) {
    case Task::Classification: {
      const Value labels = b.input("labels", {kBatchDim});
      const Value logits = b.dense(h, spec.outputs, "logits", torch, torch);
      b.output(b.softmax_cross_entropy(logits, labels, "loss"));
      b.output(logits);
      break;
    }
    case Task::Binary: {
      const Value y = b.input("y", {kBatchDim, 1});
      const Value logit = b.dense(h, 1, "logit", torch, torch);
      b.output(b.binary_cross_entropy_with_logits(logit, y, "loss"));
      b.output(logit);
      break;
    }
    case Task::Regression: {
      const Value y = b.input("y", {kBatchDim, spec.outputs});
      const Value out = b.dense(h, spec.outputs, "out", torch, torch);
      const Value y_std = standardize(b, y, spec.outputs, "y", "y_std");
      b.output(b.mse_loss(out, y_std, "loss"));
      const Value mean = Value{"y.mean"}, sd = Value{"y.std"};
      b.output(b.op("standardize", {out, mean, sd}, {{"inverse", std::int64_t{1}}}, "prediction"));
      break;
    }
  }
  return b;
}

GraphBuilder image_cnn(const ImageCnn& spec) {
  if (spec.channels < 1 || spec.height < 1 || spec.width < 1)
    throw UsageError("an image needs at least one channel and one pixel, got " + std::to_string(spec.channels) + "x" +
                     std::to_string(spec.height) + "x" + std::to_string(spec.width));
  for (const Dim w : spec.widths)
    if (w < 1) throw UsageError("a convolution block needs at least one channel, got " + std::to_string(w));
  if (spec.classes < 2) throw UsageError("a classifier tells at least 2 classes apart, got " + std::to_string(spec.classes));
  GraphBuilder b;
  Value h = b.input("x", {kBatchDim, spec.channels, spec.height, spec.width});
  const Value labels = b.input("labels", {kBatchDim});
  Dim channels = spec.channels, height = spec.height, width = spec.width;
  for (std::size_t i = 0; i < spec.widths.size(); ++i) {
    const std::string k = std::to_string(i + 1);
    if (height < 2 || width < 2)
      throw UsageError("block " + k + " pools " + std::to_string(height) + "x" + std::to_string(width) +
                       " pixels by 2x2, which leaves none: fewer --channels widths, or larger images");
    h = conv2d(b, h, channels, spec.widths[i], 3, 1, "conv" + k);
    if (spec.batchnorm) h = batchnorm(b, h, spec.widths[i], "bn" + k);
    h = max_pool2(b, b.relu(h), "pool" + k);
    channels = spec.widths[i];
    height /= 2;
    width /= 2;
  }
  h = b.op("flatten", {h}, {}, "flatten");
  const Init torch = init::torch_default();
  const Value logits = b.dense(h, spec.classes, "logits", torch, torch);
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  return b;
}

}  // namespace plangrad::models
