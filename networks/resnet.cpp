#include "networks/resnet.hpp"

#include <cstdint>
#include <string>

#include "core/errors.hpp"

namespace plangrad::models {
namespace {

// nn.Conv2d(in, out, 3, stride, padding=1, bias=False).
Value conv3x3(GraphBuilder& b, const Value& x, Dim in, Dim out, std::int64_t stride, const std::string& name) {
  const Value w = b.parameter(name + ".weight", {out, in, 3, 3}, init::torch_default());
  return b.op("conv2d_nobias", {x, w},
              {{"stride", std::vector<std::int64_t>{stride, stride}}, {"padding", std::vector<std::int64_t>{1, 1}}},
              name);
}

// conv 3x3, batchnorm, ReLU.
Value conv_bn_relu(GraphBuilder& b, const Value& x, Dim in, Dim out, std::int64_t stride, const std::string& name) {
  const Value h = conv3x3(b, x, in, out, stride, name + ".conv");
  return b.relu(batchnorm(b, h, out, name + ".bn"), name + ".relu");
}

Value residual_block(GraphBuilder& b, const Value& x, Dim width, const std::string& name) {
  Value h = conv_bn_relu(b, x, width, width, 1, name + ".a");
  h = batchnorm(b, conv3x3(b, h, width, width, 1, name + ".b.conv"), width, name + ".b.bn");
  return b.relu(b.add(x, h, name + ".add"), name + ".relu");
}

}  // namespace

GraphBuilder fashion_resnet(const ResnetShape& shape, const InputStats* stats) {
  if (shape.blocks < 0) throw UsageError("resnet: blocks per stage must not be negative");
  GraphBuilder b;
  const Value x = b.input("x", {kBatchDim, 1, 28, 28});
  const Value labels = b.input("labels", {kBatchDim});
  Value h = x;
  if (stats) h = b.op("normalize", {x}, {{"mean", stats->mean}, {"std", stats->std}}, "x_norm");
  h = conv_bn_relu(b, h, 1, shape.widths[0], 1, "stem");
  h = max_pool2(b, h, "stem.pool");
  for (int stage = 0; stage < 3; ++stage) {
    const std::string s = "stage" + std::to_string(stage + 1);
    const Dim width = shape.widths[stage];
    if (stage > 0) h = conv_bn_relu(b, h, shape.widths[stage - 1], width, 2, s + ".down");
    for (int k = 0; k < shape.blocks; ++k) h = residual_block(b, h, width, s + ".block" + std::to_string(k + 1));
  }
  h = b.global_avg_pool2d(h, "pool");
  if (shape.dropout > 0) h = b.dropout(h, shape.dropout, "dropout");
  const Init torch = init::torch_default();
  const Value logits = b.dense(h, 10, "logits", torch, torch);
  b.output(b.softmax_cross_entropy(logits, labels, "loss", shape.label_smoothing));
  b.output(logits);
  return b;
}

}  // namespace plangrad::models
