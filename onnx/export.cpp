// save_onnx: the inference graph of a model, walked in the planner's order, as one ONNX
// GraphProto. Which nodes are exported is the planner's choice for an inference plan of the
// same outputs (index_graph, toposort, prune: the nodes the outputs depend on, so the
// losses and their label inputs drop out); each node is written by its op's mapping
// (onnx/export_ops.cpp).
#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "kernels/version.hpp"
#include "onnx/export_graph.hpp"
#include "onnx/onnx.hpp"
#include "onnx/proto_io.hpp"
#include "planner/passes.hpp"
#include "serialization/model_summary.hpp"

namespace plangrad {
namespace {

using onnx_export::Emitter;
using onnx_export::NodeView;
using onnx_export::OpExport;

// ONNX IR version 8 carries opsets up to 17 and is what libonnx 1.12's checker knows.
constexpr std::int64_t kIrVersion = 8;
constexpr int kMinOpset = 13, kMaxOpset = 17;
const char* const kBatchName = "N";

const Shape& at(const std::vector<Shape>& shapes, int v) { return shapes[static_cast<std::size_t>(v)]; }

// The values to export, as value ids: the requested ones, else the ones an inference plan
// computes by default. Each must be computed by a node.
std::vector<int> output_values(const Model& model, const IndexedGraph& g, const OnnxExportOptions& options) {
  std::vector<std::string> names = options.outputs;
  if (names.empty()) names = default_inference_outputs(model.graph, symbolic_shapes(model.graph));
  if (names.empty())
    throw UsageError("the graph declares no outputs: name the values to export (OnnxExportOptions::outputs, --output)");
  std::vector<int> values;
  for (const std::string& name : names) {
    const int v = g.find_value(name);
    if (v < 0) throw UsageError("output '" + name + "': the graph has no value of that name");
    const ValueInfo& info = g.values[static_cast<std::size_t>(v)];
    if (info.producer < 0)
      throw UsageError("output '" + name + "' is a graph " + (info.role == ValueRole::Input ? "input" : "parameter or state") +
                       ", not computed by a node");
    if (std::find(values.begin(), values.end(), v) != values.end())
      throw UsageError("output '" + name + "' is named twice");
    values.push_back(v);
  }
  return values;
}

void set_dims(onnx::ValueInfoProto& info, const Shape& shape, const Shape* at_second, std::int64_t batch) {
  auto* type = info.mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx::TensorProto::FLOAT);
  auto* dims = type->mutable_shape();
  for (std::size_t d = 0; d < shape.size(); ++d) {
    auto* dim = dims->add_dim();
    if (!at_second) {  // a declared shape: kBatchDim marks the batch
      if (shape[d] != kBatchDim) dim->set_dim_value(shape[d]);
      else if (batch > 0) dim->set_dim_value(batch);
      else dim->set_dim_param(kBatchName);
    } else if (shape[d] == (*at_second)[d]) {  // an inferred shape at both nominal batches
      dim->set_dim_value(shape[d]);
    } else if (shape[d] == kNominalBatches[0] && (*at_second)[d] == kNominalBatches[1]) {
      dim->set_dim_param(kBatchName);
    }  // else it depends on the batch otherwise (N·F): left unnamed
  }
}

onnx::TensorProto& add_tensor(onnx::GraphProto& graph, const std::string& name, const Tensor<float>& data) {
  onnx::TensorProto& t = *graph.add_initializer();
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (Dim d : data.shape()) t.add_dims(d);
  // raw_data is little-endian, as the floats are in memory on every machine plangrad builds for.
  std::string bytes(data.size() * sizeof(float), '\0');
  if (!bytes.empty()) std::memcpy(bytes.data(), data.data(), bytes.size());
  t.set_raw_data(std::move(bytes));
  return t;
}

}  // namespace

void save_onnx(const Model& model, const std::string& path, const OnnxExportOptions& options) {
  if (options.opset < kMinOpset || options.opset > kMaxOpset)
    throw UsageError("ONNX opset " + std::to_string(options.opset) + ": plangrad exports opsets " +
                     std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset));
  if (options.batch < 0)
    throw UsageError("batch " + std::to_string(options.batch) + ": 0 (a symbolic N) or a positive size");
  model.check();
  const IndexedGraph g = index_graph(model.graph);
  const std::vector<int> outputs = output_values(model, g, options);
  const std::vector<int> order = prune(g, toposort(g), outputs);
  for (int n : order) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    if (!onnx_export::find_op_export(node.op->name))
      throw GraphError("node '" + node.name + "' (op " + node.op->name +
                       ") has no ONNX mapping (docs/onnx.md lists the ops that have one; a loss is no part of "
                       "an inference graph: export the values it reads)");
  }
  // Shapes at both nominal batches tell the batch dimension apart; a fixed batch is
  // checked the way a plan at that batch would be.
  const std::vector<Shape> first = infer_shapes(g, order, kNominalBatches[0]);
  const std::vector<Shape> second = infer_shapes(g, order, kNominalBatches[1]);
  std::vector<Shape> fixed;
  if (options.batch > 0) fixed = infer_shapes(g, order, options.batch);
  std::vector<Shape> symbolic(first.size());
  for (std::size_t v = 0; v < first.size(); ++v) symbolic[v] = mark_batch_dims(first[v], second[v]);

  onnx::ModelProto proto;
  proto.set_ir_version(kIrVersion);
  proto.set_producer_name("plangrad");
  proto.set_producer_version(version());
  auto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  onnx::GraphProto& graph = *proto.mutable_graph();
  graph.set_name("plangrad");

  std::vector<char> read(g.values.size(), 0);
  for (int n : order)
    for (int v : g.nodes[static_cast<std::size_t>(n)].inputs) read[static_cast<std::size_t>(v)] = 1;
  std::set<std::string> taken;
  for (const ValueInfo& v : g.values) taken.insert(v.name);
  for (const NodeInfo& n : g.nodes) taken.insert(n.name);

  // Declared values in the graph's order: inputs the exported nodes read, and their
  // parameters and state as initializers (constants: they are not graph inputs).
  for (std::size_t v = 0; v < g.values.size(); ++v) {
    const ValueInfo& info = g.values[v];
    if (!read[v] || info.producer >= 0) continue;
    if (info.role == ValueRole::Input) {
      onnx::ValueInfoProto& input = *graph.add_input();
      input.set_name(info.name);
      set_dims(input, info.declared, nullptr, options.batch);
    } else if (info.role == ValueRole::Parameter) add_tensor(graph, info.name, model.parameters.at(info.name));
    else add_tensor(graph, info.name, model.state.at(info.name));
  }

  Emitter emitter(graph, options.opset, std::move(taken));
  for (int n : order) {
    const NodeInfo& node = g.nodes[static_cast<std::size_t>(n)];
    NodeView view;
    view.name = node.name;
    view.op = node.op->name;
    for (int v : node.inputs) {
      view.inputs.push_back(g.values[static_cast<std::size_t>(v)].name);
      view.input_shapes.push_back(at(symbolic, v));
    }
    for (int v : node.outputs) view.outputs.push_back(g.values[static_cast<std::size_t>(v)].name);
    view.attrs = node.attrs;
    emitter.set_source_op(view.op);
    onnx_export::find_op_export(view.op)(view, emitter);
  }

  for (int v : outputs) {
    onnx::ValueInfoProto& info = *graph.add_output();
    info.set_name(g.values[static_cast<std::size_t>(v)].name);
    if (options.batch > 0) {
      const Shape& s = at(fixed, v);
      set_dims(info, s, &s, 0);
    } else {
      set_dims(info, at(first, v), &at(second, v), 0);
    }
  }
  onnx_io::write_model(proto, path);
}

}  // namespace plangrad
