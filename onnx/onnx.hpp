/// \file
/// ONNX export and import: plangrad::onnx, a library of its own beside plangrad (it links
/// protobuf and Debian's libonnx). docs/onnx.md has the op mapping and the opsets.
/// \code
///   plangrad::save_onnx(model, "net.onnx");                 // inference graph, batch N
///   plangrad::Model m = plangrad::load_onnx("torch.onnx");  // PyTorch's export, say
/// \endcode
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/visibility.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

/// What save_onnx writes.
struct OnnxExportOptions {
  /// The ONNX opset the file declares (13 to 17).
  int opset = 17;
  /// The batch dimension: 0 keeps it symbolic ("N"), a positive value fixes it.
  std::int64_t batch = 0;
  /// The graph's outputs, by value name, each computed by a node; empty: the graph's
  /// declared outputs that are not scalars (the predictions, not the losses), else all of
  /// them, as `plangrad plan --kind inference` picks them.
  std::vector<std::string> outputs;
};

/// Writes `model`'s inference graph to `path` as an ONNX model that passes ONNX's checker:
/// the nodes the outputs depend on (as an inference plan prunes them: loss nodes and label
/// inputs dropped), in the planner's order, parameters and state as initializers,
/// batchnorm's running statistics as BatchNormalization inputs (Eval mode), plangrad's node
/// and value names kept. The file is written atomically: on any error the target is as it
/// was. A GraphError naming the node and op for an op without an ONNX mapping (docs/onnx.md
/// lists them) or a graph that does not validate; a UsageError for an opset out of range, a
/// negative batch, or an output that is unknown, not computed by a node or named twice; a
/// DataError naming the path when it cannot be written.
void save_onnx(const Model& model, const std::string& path, const OnnxExportOptions& options = {});

/// What load_onnx adds to the imported graph.
struct OnnxImportOptions {
  /// Empty, or a loss to add on the graph's output so the model can be trained:
  /// "mse", "softmax_cross_entropy" or "bce".
  std::string loss;
  /// The name of the label (target) input the loss takes; "labels" when empty.
  std::string labels;
};

/// Reads an ONNX inference graph (opset 11 to 17) from `path` into a plangrad model: its
/// initializers as parameters, BatchNormalization statistics as state, constant
/// sub-graphs folded. A FormatError naming the file, and the node, op type and opset where
/// there is one, for anything it cannot read.
Model load_onnx(const std::string& path, const OnnxImportOptions& options = {});

}  // namespace plangrad
PLANGRAD_PUBLIC_END
