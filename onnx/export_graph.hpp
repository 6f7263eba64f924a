// What an op's ONNX mapping (onnx/export_ops.cpp) sees of one plangrad node, and the
// Emitter it writes ONNX nodes and constants through. Internal to plangrad::onnx: the
// walk over the graph is onnx/export.cpp's, the per-op knowledge export_ops.cpp's.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <onnx/onnx_pb.h>

#include "core/graph.hpp"

namespace plangrad::onnx_export {

// One plangrad node as its mapping reads it: names as in the plangrad graph, attributes
// normalized (every attribute the op declares is present), input shapes with the batch
// symbolic (kBatchDim).
struct NodeView {
  std::string name;
  std::string op;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  Attrs attrs;
  std::vector<Shape> input_shapes;
};

// Adds ONNX nodes and constant initializers to the graph being written. A mapping that
// needs more than one ONNX node names the one producing the plangrad output after the
// plangrad node and each other one `<node>/<what>`, the name of the helper value it
// produces too (made unique against every name in the graph).
class Emitter {
 public:
  Emitter(onnx::GraphProto& graph, int opset, std::set<std::string> taken);

  int opset() const { return opset_; }

  // A node `op_type` named `name` (doc string: the plangrad op it comes from).
  onnx::NodeProto& node(const std::string& op_type, const std::string& name, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs);
  // A name not used yet in the graph, `<base>/<what>` or that with a number.
  std::string fresh(const std::string& base, const std::string& what);
  // A float constant initializer (rank 0 when dims is empty) under a fresh name.
  std::string floats(const std::string& base, const std::string& what, const std::vector<std::int64_t>& dims,
                     const std::vector<float>& values);
  // The same in double (statistics plangrad's kernels take in double).
  std::string doubles(const std::string& base, const std::string& what, const std::vector<std::int64_t>& dims,
                      const std::vector<double>& values);
  // An int64 constant initializer, rank 1, under a fresh name (Reshape's shape).
  std::string ints(const std::string& base, const std::string& what, const std::vector<std::int64_t>& values);

  // The plangrad op being mapped, for doc strings and errors.
  void set_source_op(std::string op) { source_op_ = std::move(op); }

 private:
  onnx::GraphProto& graph_;
  int opset_;
  std::set<std::string> taken_;
  std::string source_op_;
};

// One op's mapping: writes the ONNX nodes computing `node`'s outputs from its inputs, under
// the same value names. A GraphError (refuse below) for an attribute value it cannot express.
using OpExport = void (*)(const NodeView& node, Emitter& out);

// The mapping of plangrad op `op`, or nullptr when it has none.
OpExport find_op_export(std::string_view op);

// Every op that has a mapping, in the table's order (docs, tests).
std::vector<std::string> exportable_ops();

// The GraphError of a mapping that cannot express `node`: names the node, the op and why.
[[noreturn]] void refuse(const NodeView& node, const std::string& why);

// ONNX attribute setters.
void set_int(onnx::NodeProto& n, const std::string& name, std::int64_t v);
void set_float(onnx::NodeProto& n, const std::string& name, float v);
void set_ints(onnx::NodeProto& n, const std::string& name, const std::vector<std::int64_t>& v);

}  // namespace plangrad::onnx_export
