// fold_batchnorm: conv -> batchnorm as one convolution in Eval-mode inference plans.
//
// In Eval mode batchnorm is an affine map per channel, z = y s + (beta - mean s) with
// s = gamma / sqrt(var + eps), and a convolution is linear per filter, so the pair is one
// convolution with weights w s and bias (b - mean) s + beta. Folded, the plan runs one
// pass over the activations instead of two. The parameters change during training and an
// Eval plan (validation in fit, the Predictor) reads the live ones, so the folded weights
// are not computed here but by a small op at every run (F*C*KH*KW multiplies).
#include "planner/fold_batchnorm.hpp"

#include <utility>

#include "ops/batchnorm.hpp"
#include "ops/conv2d.hpp"
#include "ops/fold_batchnorm.hpp"

namespace plangrad {
namespace {

int add_intermediate(IndexedGraph& g, const std::string& base, int producer) {
  const int v = static_cast<int>(g.values.size());
  ValueInfo info;
  info.name = unused_name(base, [&](const std::string& s) { return g.find_value(s) >= 0; });
  info.producer = producer;
  g.value_index.emplace(info.name, v);
  g.values.push_back(std::move(info));
  return v;
}

}  // namespace

FoldedGraph fold_batchnorm(IndexedGraph g, std::vector<int> order, const std::vector<int>& keep) {
  const OpDef& bn_op = batchnorm_op();
  const OpDef& conv_op = conv2d_op();
  const OpDef& conv_nobias_op = conv2d_nobias_op();

  // Uses of each value by the nodes that run, and the values the caller reads.
  std::vector<int> uses(g.values.size(), 0);
  for (int n : order)
    for (int v : g.nodes[static_cast<std::size_t>(n)].inputs) ++uses[static_cast<std::size_t>(v)];
  for (int v : keep) ++uses[static_cast<std::size_t>(v)];

  FoldedGraph out;
  std::vector<int> new_order;
  std::vector<bool> moved(g.nodes.size(), false);  // convolutions that run at their batchnorm's place
  std::vector<int> conv_of(g.nodes.size(), -1);    // per batchnorm node folded: its convolution
  for (int b : order) {
    const NodeInfo& bn = g.nodes[static_cast<std::size_t>(b)];
    if (bn.op != &bn_op) continue;
    const int y = bn.inputs[0];
    const int c = g.values[static_cast<std::size_t>(y)].producer;
    if (c < 0 || uses[static_cast<std::size_t>(y)] != 1) continue;
    const OpDef* op = g.nodes[static_cast<std::size_t>(c)].op;
    if (op != &conv_op && op != &conv_nobias_op) continue;
    conv_of[static_cast<std::size_t>(b)] = c;
    moved[static_cast<std::size_t>(c)] = true;
  }

  for (int n : order) {
    if (moved[static_cast<std::size_t>(n)]) continue;
    const int c = conv_of[static_cast<std::size_t>(n)];
    if (c < 0) {
      new_order.push_back(n);
      continue;
    }
    const int b = n;
    NodeInfo conv = std::move(g.nodes[static_cast<std::size_t>(c)]);
    NodeInfo bn = std::move(g.nodes[static_cast<std::size_t>(b)]);
    const bool has_bias = conv.op == &conv_op;

    NodeInfo fold;
    fold.name = bn.name;
    fold.op = has_bias ? &fold_conv_bn_op() : &fold_conv_nobias_bn_op();
    fold.inputs.assign(conv.inputs.begin() + 1, conv.inputs.end());  // w[, b]
    fold.inputs.insert(fold.inputs.end(), bn.inputs.begin() + 1, bn.inputs.end());
    fold.attrs = normalize_attrs(*fold.op, fold.name, Attrs{});
    fold.attrs.set("eps", bn.attrs.get_float("eps"));
    const int wf = add_intermediate(g, bn.name + "/w", c);
    const int bf = add_intermediate(g, bn.name + "/b", c);
    fold.outputs = {wf, bf};

    g.values[static_cast<std::size_t>(conv.outputs[0])].producer = -1;  // y: no longer computed
    NodeInfo folded_conv;
    folded_conv.name = std::move(conv.name);
    folded_conv.op = &conv_op;
    folded_conv.inputs = {conv.inputs[0], wf, bf};
    folded_conv.outputs = bn.outputs;  // z, whose producer stays node b
    // conv2d_nobias's attributes are conv2d's: the normalized set carries over.
    folded_conv.attrs = std::move(conv.attrs);

    g.nodes[static_cast<std::size_t>(c)] = std::move(fold);
    g.nodes[static_cast<std::size_t>(b)] = std::move(folded_conv);
    new_order.push_back(c);
    new_order.push_back(b);
    ++out.folded;
  }
  out.graph = std::move(g);
  out.order = std::move(new_order);
  return out;
}

}  // namespace plangrad
