/// \file
/// GraphBuilder: declare a network in C++ so that it reads like the network.
/// \code
///   GraphBuilder b;
///   auto x = b.input("x", {100, 2});
///   auto y = b.input("y", {100, 2});
///   auto h = b.relu(b.dense(x, 25, "fc1"));
///   auto out = b.tanh(b.dense(h, 2, "fc2"));
///   auto loss = b.mse_loss(out, y, "loss");
///   Model model = b.build(/*seed=*/42);
/// \endcode
/// Shapes are inferred as nodes are added, so a mismatch is reported at the line that
/// caused it, naming the node. Nodes without a name get "<op>_<k>". Inputs may leave the
/// batch dimension symbolic (kBatchDim); plans bind it (PlanRequest::batch).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/graph.hpp"
#include "core/init.hpp"
#include "core/model.hpp"
#include "core/visibility.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

/// A handle to a value in the graph being built.
struct Value {
  std::string name;  ///< the value's name in the graph
};

/// Declares a graph node by node (see the file's description); build() makes the Model.
/// Every method that adds a value throws GraphError for a name already taken or an
/// unknown input value, and ShapeError for shapes the op does not take, naming the node.
class GraphBuilder {
 public:
  /// A graph input, fed at every run; kBatchDim in `shape` leaves the batch to the plan.
  Value input(const std::string& name, Shape shape);
  /// A trainable parameter of a fixed shape (no kBatchDim), initialized by build().
  Value parameter(const std::string& name, Shape shape, Init init);
  /// Persistent, untrained state of a fixed shape (batchnorm's running statistics),
  /// initialized by build().
  Value state(const std::string& name, Shape shape, Init init);

  /// Any registered op: one output, or all of them with op_outputs.
  Value op(const std::string& op, const std::vector<Value>& inputs, Attrs attrs = {},
           std::string name = "");
  /// \copydoc op
  std::vector<Value> op_outputs(const std::string& op, const std::vector<Value>& inputs,
                                Attrs attrs = {}, std::string name = "");

  /// a [N, K] times b [K, M] (the matmul op, docs/ops.md).
  Value matmul(const Value& a, const Value& b, std::string name = "");
  /// x [..., F] plus bias [F] on every row (the add_bias op).
  Value add_bias(const Value& x, const Value& bias, std::string name = "");
  /// a + b, element-wise, of one shape (the add op).
  Value add(const Value& a, const Value& b, std::string name = "");
  /// max(x, 0), element-wise (the relu op).
  Value relu(const Value& x, std::string name = "");
  /// 1 / (1 + exp(-x)), element-wise (the sigmoid op).
  Value sigmoid(const Value& x, std::string name = "");
  /// tanh(x), element-wise (the tanh op).
  Value tanh(const Value& x, std::string name = "");
  /// x where x > 0, alpha x elsewhere, element-wise (the leaky_relu op; PyTorch's default
  /// slope 0.01). A ShapeError for a negative or non-finite alpha.
  Value leaky_relu(const Value& x, double alpha = 0.01, std::string name = "");
  /// xs joined along `axis` (the concat op, torch.cat): one or more values of one rank,
  /// equal but along the axis (negative counts from the end). A ShapeError otherwise.
  Value concat(const std::vector<Value>& xs, std::int64_t axis = 1, std::string name = "");
  /// Inverted dropout (the dropout op): in training, each element is zeroed with
  /// probability `rate` and the others scaled by 1 / (1 - rate); identity in Eval mode.
  /// A ShapeError for a rate outside [0, 1).
  Value dropout(const Value& x, double rate = 0.5, std::string name = "");
  /// x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), element-wise (the gelu op: PyTorch's
  /// gelu with approximate='tanh').
  Value gelu(const Value& x, std::string name = "");
  /// Probabilities along the last axis (torch.softmax(x, -1)): an output for prediction;
  /// a loss takes the logits (softmax_cross_entropy), not these.
  Value softmax(const Value& x, std::string name = "");
  /// Log probabilities along the last axis (torch.log_softmax(x, -1)), finite where
  /// log(softmax(x)) would be log 0 (the log_softmax op).
  Value log_softmax(const Value& x, std::string name = "");
  /// x [N, C, H, W] -> [N, C, OH, OW], the mean of each kernel window (the avg_pool2d op,
  /// PyTorch's F.avg_pool2d): `kernel` [kh, kw], `stride` (empty: the kernel), `padding`
  /// [ph, pw] at most half the kernel, padding cells counted in the divisor when
  /// `count_include_pad` (PyTorch's default). A ShapeError for a window that does not fit.
  Value avg_pool2d(const Value& x, std::vector<std::int64_t> kernel, std::vector<std::int64_t> stride = {},
                   std::vector<std::int64_t> padding = {0, 0}, bool count_include_pad = true,
                   std::string name = "");
  /// x [N, C, H, W] -> [N, C], the mean of each (image, channel) plane (the
  /// global_avg_pool2d op; PyTorch's x.mean((2, 3))).
  Value global_avg_pool2d(const Value& x, std::string name = "");
  /// x [..., D] normalized over its last axis, times a gain plus a bias (the layer_norm op,
  /// PyTorch's nn.LayerNorm(D)): gamma [D] named "<name>.weight" (ones) and beta [D] named
  /// "<name>.bias" (zeros) are new parameters; the output value is "<name>".
  Value layer_norm(const Value& x, double eps = 1e-5, std::string name = "");
  /// The mean over all elements of (prediction - target)^2, a scalar (the mse_loss op).
  Value mse_loss(const Value& prediction, const Value& target, std::string name = "");
  /// The mean cross-entropy of logits [N, C] against class indices [N], a scalar (the
  /// softmax_cross_entropy op); with label_smoothing eps, against the label mixed with a
  /// uniform distribution, (1 - eps) one-hot + eps / C (PyTorch's label_smoothing). A
  /// ShapeError for eps outside [0, 1].
  Value softmax_cross_entropy(const Value& logits, const Value& labels, std::string name = "",
                              double label_smoothing = 0.0);
  /// The mean binary cross-entropy of logits against 0..1 targets of the same shape, a
  /// scalar (the binary_cross_entropy_with_logits op).
  Value binary_cross_entropy_with_logits(const Value& logits, const Value& targets,
                                         std::string name = "");

  /// x[N, in] -> x W + b with W [in, units] named "<name>.weight" and b [units] named
  /// "<name>.bias"; the matmul node is "<name>.matmul" and the output value is "<name>".
  Value dense(const Value& x, Dim units, std::string name = "",
              Init weight_init = init::glorot_uniform(), Init bias_init = init::zeros());

  /// Marks a value as one the graph offers by default (a loss, logits).
  void output(const Value& v);

  /// The value's shape, kBatchDim where it follows the batch; a GraphError for an unknown value.
  const Shape& shape(const Value& v) const;
  /// The graph declared so far.
  const Graph& graph() const { return graph_; }

  /// The graph with its parameters and state initialized from `seed`, in declaration order.
  Model build(std::uint64_t seed) const;

 private:
  std::string unique_name(const std::string& requested, const std::string& op);
  void claim(const std::string& name);
  // A parameter or state value: a shape with no symbolic batch, and an initializer.
  Value stored(const std::string& name, ValueKind kind, Shape shape, Init init);

  Graph graph_;
  // Every value's shape at both kNominalBatches (ops/op.hpp), and merged (kBatchDim).
  std::map<std::string, Shape> shapes_;
  std::map<std::string, Shape> nominal_[2];
  std::vector<Init> inits_;  // per graph_.values entry (unused for inputs)
  std::map<std::string, int> counters_;
  std::unordered_set<std::string> node_names_;  // graph_.nodes' names: O(1) duplicate checks
};

}  // namespace plangrad
PLANGRAD_PUBLIC_END
