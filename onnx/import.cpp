// load_onnx: the model's opset, its initializers and inputs, the nodes the outputs depend
// on in dependency order (missing inputs, duplicate producers and cycles refused), each
// folded or mapped (import_fold.cpp, import_ops.cpp), the optional loss, and then the
// planner's own validation, as for a model file (serialization/model_json_read.cpp).
#include <filesystem>
#include <limits>

#include "core/errors.hpp"
#include "core/limits.hpp"
#include "onnx/import.hpp"
#include "onnx/import_entry.hpp"
#include "onnx/onnx.hpp"
#include "onnx/proto_io.hpp"
#include "ops/op.hpp"
#include "planner/passes.hpp"

namespace plangrad {
namespace onnx_import {
namespace {

bool default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

std::int64_t read_opset(const onnx::ModelProto& m, const std::string& source) {
  std::int64_t opset = -1;
  for (const auto& o : m.opset_import())
    if (default_domain(o.domain())) opset = o.version();
  if (opset < 0) throw FormatError(source + ": the model imports no opset of the default ONNX domain");
  if (opset < 11 || opset > 17)
    throw FormatError(source + ": opset " + std::to_string(opset) + " of the default domain; plangrad reads opsets 11 to 17");
  return opset;
}

void check_name(const std::string& name, const std::string& source, const char* what) {
  if (name.size() > limits().name_length)
    throw FormatError(source + ": " + what + " '" + name.substr(0, 64) + "...' has a name longer than " +
                      limit_hint("name-length", limits().name_length));
}

// A graph input: float, first dimension the batch (symbolic, or fixed and then read as the
// batch), every other dimension fixed and positive.
Shape input_shape(const onnx::ValueInfoProto& v, const std::string& source, std::int64_t& fixed_batch) {
  const std::string where = source + ": graph input '" + v.name() + "'";
  if (!v.type().has_tensor_type()) throw FormatError(where + " is not a tensor");
  const auto& t = v.type().tensor_type();
  if (t.elem_type() != onnx::TensorProto::FLOAT)
    throw FormatError(where + " has element type " + std::to_string(t.elem_type()) + "; plangrad's inputs are float");
  if (!t.has_shape()) throw FormatError(where + " has no shape");
  const auto& dims = t.shape().dim();
  if (dims.empty()) throw FormatError(where + " is a scalar; plangrad's inputs have a batch dimension");
  Shape shape{kBatchDim};
  if (dims[0].has_dim_value()) {
    if (dims[0].dim_value() < 1) throw FormatError(where + ": batch dimension " + std::to_string(dims[0].dim_value()));
    fixed_batch = dims[0].dim_value();
  }
  for (int k = 1; k < dims.size(); ++k) {
    if (!dims[k].has_dim_value() || dims[k].dim_value() < 1)
      throw FormatError(where + ": dimension " + std::to_string(k) +
                        " must be fixed and positive (only the first, the batch, may be symbolic)");
    shape.push_back(dims[k].dim_value());
  }
  Shape per_example(shape.begin() + 1, shape.end());
  (void)count_of(per_example, where);
  return shape;
}

std::string node_label(const onnx::NodeProto& n, int index) {
  return n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
}

// The loss of OnnxImportOptions on the graph's one output.
void add_loss(Importer& im, const OnnxImportOptions& options) {
  Graph& g = im.model().graph;
  if (options.loss.empty()) {
    if (!options.labels.empty()) throw UsageError("--labels names the label input of a loss; give --loss too");
    return;
  }
  const char* op = options.loss == "mse"                     ? "mse_loss"
                   : options.loss == "softmax_cross_entropy" ? "softmax_cross_entropy"
                   : options.loss == "bce"                   ? "binary_cross_entropy_with_logits"
                                                             : nullptr;
  if (!op) throw UsageError("unknown loss '" + options.loss + "' (mse, softmax_cross_entropy or bce)");
  if (g.outputs.size() != 1)
    throw UsageError(im.source() + ": a loss needs a model with one output; this one has " +
                     std::to_string(g.outputs.size()));
  const std::string labels = options.labels.empty() ? "labels" : options.labels;
  const std::string out = g.outputs.front();
  const Shape& shape = im.shape_of(out);
  for (const ValueDecl& v : g.values)
    if (v.name == labels) throw UsageError(im.source() + ": the label input '" + labels + "' is already a value of the graph; name another with --labels");
  Shape label_shape = shape;
  if (options.loss == "softmax_cross_entropy") {
    if (shape.size() != 2 || shape[0] != kBatchDim)
      throw UsageError(im.source() + ": softmax_cross_entropy needs logits [N, C]; the output '" + out + "' is " +
                       shape_str(shape));
    label_shape = {kBatchDim};
  }
  im.declare_input(labels, label_shape);
  onnx::NodeProto loss_node;
  loss_node.set_name("loss");
  loss_node.set_op_type(options.loss);
  im.begin_node(loss_node, "loss", nullptr);
  const std::string loss = im.add(op, {out, labels}, {}, im.fresh("loss"), im.fresh_node("loss"));
  g.outputs.insert(g.outputs.begin(), loss);
}

// The planner's checks, as the model reader runs them, and the ops' data checks.
void validate(const Model& model, const std::string& source) {
  try {
    const IndexedGraph g = index_graph(model.graph);
    (void)symbolic_shapes(g, toposort(g));
    for (const Node& node : model.graph.nodes) {
      const OpDef& op = find_op(node.op);
      if (!op.check_data) continue;
      for (std::size_t i = 0; i < node.inputs.size(); ++i) {
        const auto p = model.parameters.find(node.inputs[i]);
        const auto s = model.state.find(node.inputs[i]);
        const Tensor<float>* t = p != model.parameters.end() ? &p->second : s != model.state.end() ? &s->second : nullptr;
        if (!t) continue;
        const std::string problem = op.check_data(i, t->data(), t->size());
        if (!problem.empty())
          throw FormatError(node.op + " '" + node.name + "' cannot use '" + node.inputs[i] + "': " + problem);
      }
    }
    model.check();
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(source + ": the imported graph: " + e.what());
  }
}

}  // namespace

Model import_model(const onnx::ModelProto& m, const std::string& source, const std::string& dir,
                   const OnnxImportOptions& options) {
  const std::int64_t opset = read_opset(m, source);
  const onnx::GraphProto& g = m.graph();
  Importer im(source, opset, dir);
  auto& values = im.values();

  if (g.sparse_initializer_size() > 0) throw FormatError(source + ": sparse initializers are not read");
  if (static_cast<std::uint64_t>(g.node_size()) > limits().nodes)
    throw FormatError(source + ": " + std::to_string(g.node_size()) + " nodes, more than " +
                      limit_hint("nodes", limits().nodes));
  for (const auto& init : g.initializer()) {
    const std::string where = source + ": initializer '" + init.name() + "'";
    if (init.name().empty()) throw FormatError(source + ": an initializer has no name");
    check_name(init.name(), source, "initializer");
    if (values.count(init.name())) throw FormatError(where + " is given twice");
    auto c = std::make_shared<Const>(read_tensor(init, where, dir));
    c->source_name = init.name();
    values[init.name()] = Val{c, "", {}, {}};
    im.reserve(init.name());
  }
  for (const auto& in : g.input()) {
    if (in.name().empty()) throw FormatError(source + ": a graph input has no name");
    check_name(in.name(), source, "graph input");
    if (values.count(in.name())) {
      if (values.at(in.name()).constant) continue;  // an initializer listed as an input (IR < 4)
      throw FormatError(source + ": graph input '" + in.name() + "' is given twice");
    }
    im.declare_input(in.name(), input_shape(in, source, im.fixed_batch));
  }

  // Producers: each value made once, by one node, and never a graph input or initializer.
  std::map<std::string, int> producer;
  for (int n = 0; n < g.node_size(); ++n) {
    const onnx::NodeProto& node = g.node(n);
    check_name(node.name(), source, "node");
    for (const std::string& out : node.output()) {
      if (out.empty()) continue;
      check_name(out, source, "value");
      if (values.count(out) || !producer.emplace(out, n).second)
        throw FormatError(source + ": node '" + node_label(node, n) + "' (" + node.op_type() + "): output '" + out +
                          "' is already a value of the graph (a duplicate name)");
      im.reserve(out);
    }
  }
  // The nodes the outputs depend on; every input they read must exist.
  if (g.output_size() == 0) throw FormatError(source + ": the graph has no outputs");
  std::set<std::string> needed;
  std::vector<char> wanted(static_cast<std::size_t>(g.node_size()), 0);
  std::vector<std::string> stack;
  for (const auto& out : g.output()) {
    if (!values.count(out.name()) && !producer.count(out.name()))
      throw FormatError(source + ": graph output '" + out.name() + "' is produced by no node");
    stack.push_back(out.name());
  }
  while (!stack.empty()) {
    const std::string v = stack.back();
    stack.pop_back();
    if (!needed.insert(v).second) continue;
    const auto p = producer.find(v);
    if (p == producer.end() || wanted[static_cast<std::size_t>(p->second)]) continue;
    wanted[static_cast<std::size_t>(p->second)] = 1;
    const onnx::NodeProto& node = g.node(p->second);
    for (const std::string& in : node.input()) {
      if (in.empty()) continue;
      if (!values.count(in) && !producer.count(in))
        throw FormatError(source + ": node '" + node_label(node, p->second) + "' (" + node.op_type() + "): input '" + in +
                          "' is no graph input, initializer or node output");
      stack.push_back(in);
    }
  }
  // Dependency order (Kahn's, the file's order among ready nodes); what is left is a cycle.
  std::vector<int> pending(static_cast<std::size_t>(g.node_size()), 0);
  std::map<std::string, std::vector<int>> consumers;
  std::set<int> ready;
  for (int n = 0; n < g.node_size(); ++n) {
    if (!wanted[static_cast<std::size_t>(n)]) continue;
    std::set<std::string> ins;
    for (const std::string& in : g.node(n).input())
      if (!in.empty() && producer.count(in) && ins.insert(in).second) {
        ++pending[static_cast<std::size_t>(n)];
        consumers[in].push_back(n);
      }
    if (pending[static_cast<std::size_t>(n)] == 0) ready.insert(n);
  }
  std::vector<int> order;
  while (!ready.empty()) {
    const int n = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(n);
    for (const std::string& out : g.node(n).output())
      for (const int c : consumers[out])
        if (--pending[static_cast<std::size_t>(c)] == 0) ready.insert(c);
  }
  for (int n = 0; n < g.node_size(); ++n)
    if (wanted[static_cast<std::size_t>(n)] && pending[static_cast<std::size_t>(n)] > 0)
      throw FormatError(source + ": node '" + node_label(g.node(n), n) + "' (" + g.node(n).op_type() +
                        ") is on a cycle: it depends on its own output");

  for (const int n : order) {
    const onnx::NodeProto& node = g.node(n);
    im.begin_node(node, node_label(node, n), &needed);
    if (!default_domain(node.domain()))
      im.fail("domain '" + node.domain() + "' is not read (only the default ONNX domain is)");
    bool always = false;
    const Mapping fold = find_fold(node.op_type(), always);
    bool all_constant = true;
    for (int i = 0; i < node.input_size(); ++i)
      if (!node.input(i).empty() && !values.at(node.input(i)).constant) all_constant = false;
    if (fold && (always || all_constant)) {
      fold(im);
    } else if (const Mapping map = find_mapping(node.op_type())) {
      map(im);
    } else if (fold) {
      im.fail("is folded at import only when its inputs are constants, and here one depends on the input data");
    } else {
      im.fail("op type '" + node.op_type() + "' has no plangrad mapping (docs/onnx.md lists the ops read)");
    }
    for (const std::string& out : node.output())
      if (!out.empty() && needed.count(out) && !values.count(out)) im.fail("output '" + out + "' was not produced");
  }

  for (const auto& out : g.output()) {
    const Val& v = values.at(out.name());
    if (v.constant) throw FormatError(source + ": graph output '" + out.name() + "' is a constant, not computed from an input");
    if (v.padded()) throw FormatError(source + ": graph output '" + out.name() + "' comes from a Pad, which plangrad takes only into a Conv or an AveragePool");
    const auto p = producer.find(out.name());
    if (p != producer.end()) im.begin_node(g.node(p->second), node_label(g.node(p->second), p->second), &needed);
    im.model().graph.outputs.push_back(im.materialize(out.name()));
  }
  add_loss(im, options);
  validate(im.model(), source);
  return std::move(im.model());
}

Model import_bytes(const std::string& bytes, const std::string& source, const std::string& dir,
                   const OnnxImportOptions& options) {
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw DataError(source + ": ONNX file of " + std::to_string(bytes.size()) + " bytes, more than protobuf reads in one message (2 GiB)");
  onnx::ModelProto m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw FormatError(source + ": not an ONNX model (the protobuf message is truncated or malformed)");
  return import_model(m, source, dir, options);
}

}  // namespace onnx_import

Model load_onnx(const std::string& path, const OnnxImportOptions& options) {
  const onnx::ModelProto m = onnx_io::read_model(path);
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  return onnx_import::import_model(m, path, dir, options);
}

}  // namespace plangrad
