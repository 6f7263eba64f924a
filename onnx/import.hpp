// The ONNX importer's inside (onnx/import*.cpp), internal to plangrad::onnx: the protobuf
// types stay out of onnx/onnx.hpp.
//   import.cpp        load_onnx: the model's checks, the graph walk, the loss, validation
//   import_importer.cpp  the Importer's helpers (inputs, attributes, names, adding nodes)
//   import_tensor.cpp TensorProto -> Const (every size checked; external data)
//   import_ops.cpp    one mapping per ONNX op type onto plangrad nodes, in a table
//   import_ops_image.cpp  the image ops' mappings (Conv, BatchNormalization, pools, Pad)
//   import_fold.cpp   constant folding (Constant, Shape, Gather, Unsqueeze, Concat, ...)
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "core/graph.hpp"
#include "core/model.hpp"
#include "onnx/onnx.hpp"

namespace plangrad::onnx_import {

// In a folded integer tensor, "the batch size": what Shape gives for a symbolic batch. Any
// arithmetic on it is refused; Gather, Unsqueeze, Concat, Slice, Cast carry it to a
// Reshape, which reads it as the batch.
inline constexpr std::int64_t kBatchValue = std::numeric_limits<std::int64_t>::min();

// A tensor known at import: an initializer, a Constant, or a folded result.
struct Const {
  Shape dims;                      // concrete, no kBatchDim
  bool is_int = false;             // values in i (int64), else in f (float)
  std::vector<float> f;
  std::vector<std::int64_t> i;
  std::string source_name;         // the initializer's name, for parameters; else empty
  std::size_t size() const { return is_int ? i.size() : f.size(); }
};

// What an ONNX value name stands for.
struct Val {
  std::shared_ptr<const Const> constant;  // set: known at import, no plangrad value
  std::string name;                       // else: the plangrad value
  Shape shape;    // ONNX's shape of the value (kBatchDim for the batch)
  Shape actual;   // the plangrad value's shape: [N, C] under GlobalAveragePool's [N, C, 1, 1]
  Dim pad_h = 0;  // a zero Pad not yet applied (rows, columns each side): only a Conv or an
  Dim pad_w = 0;  // AveragePool reading it takes it into its own padding
  bool padded() const { return pad_h != 0 || pad_w != 0; }
};

class Importer;
using Mapping = void (*)(Importer&);

// The mapping of `op_type` (import_ops.cpp), or nullptr.
Mapping find_mapping(const std::string& op_type);
// The image ops' mappings (import_ops_image.cpp), in find_mapping's table.
void map_conv(Importer& im);
void map_batchnorm(Importer& im);
void map_max_pool(Importer& im);
void map_average_pool(Importer& im);
void map_global_average_pool(Importer& im);
void map_pad(Importer& im);
// The folding of `op_type` (import_fold.cpp) when every input present is a constant, or
// nullptr; `always` is set for those that fold whatever their input (Shape, Constant).
Mapping find_fold(const std::string& op_type, bool& always);

// TensorProto -> Const. `where` starts every error ("<file>: initializer 'w'"); `dir` is
// the model file's folder for external data (empty: external data refused).
Const read_tensor(const onnx::TensorProto& t, const std::string& where, const std::string& dir);

// The element count of concrete dims, held to limits().tensor_elements: a FormatError
// starting with `where` for a negative dimension, an overflow or a count past the limit.
std::size_t count_of(const Shape& dims, const std::string& where);

// The walk over one graph: its state and the helpers the mappings use.
class Importer {
 public:
  Importer(std::string source, std::int64_t opset, std::string dir) :
      source_(std::move(source)), dir_(std::move(dir)), opset_(opset) {}

  const std::string& source() const { return source_; }
  const std::string& dir() const { return dir_; }
  std::int64_t opset() const { return opset_; }
  Model& model() { return model_; }

  // The node being converted.
  void begin_node(const onnx::NodeProto& node, const std::string& label, const std::set<std::string>* needed);
  const onnx::NodeProto& node() const { return *node_; }
  const std::string& label() const { return label_; }
  // A FormatError: "<file>: node '<label>' (<Op>, opset <n>): <what>".
  [[noreturn]] void fail(const std::string& what) const;

  // Inputs: count (trailing empty names dropped), presence, the value.
  int inputs() const;
  bool has_input(int i) const;
  const Val& input(int i) const;
  const Const& const_input(int i, const char* what) const;  // a FormatError unless constant
  // The plangrad value of the graph value `onnx_name`, GlobalAveragePool's [N, C] reshaped
  // to the [N, C, 1, 1] ONNX has when needed (once).
  std::string materialize(const std::string& onnx_name);
  // A graph (non-constant) input as a plangrad value, GlobalAveragePool's [N, C] reshaped
  // to [N, C, 1, 1] when needed; a FormatError for a constant or an unapplied Pad.
  std::string graph_input(int i, const char* what);
  const Shape& shape_of(const std::string& value) const { return shapes_.at(value); }
  // Sets output i; a FormatError when an output other than 0 is read downstream and the
  // mapping cannot produce it (require_only_first_output).
  void set_output(int i, Val v);
  void set_output(int i, const std::string& value) { set_output(i, graph_val(value)); }
  void require_only_first_output() const;
  Val graph_val(const std::string& value) const { return Val{nullptr, value, shapes_.at(value), shapes_.at(value)}; }

  // Attributes, type-checked; a FormatError naming the attribute on a wrong type.
  const onnx::AttributeProto* attr(const std::string& name) const;
  std::int64_t attr_int(const std::string& name, std::int64_t fallback) const;
  float attr_float(const std::string& name, float fallback) const;
  std::string attr_string(const std::string& name, const std::string& fallback) const;
  std::vector<std::int64_t> attr_ints(const std::string& name, const std::vector<std::int64_t>& fallback) const;
  // Fails on any attribute not in `known`.
  void only_attrs(std::initializer_list<const char*> known) const;

  // A fresh value or node name built on `base` (unique among every ONNX and plangrad name).
  std::string fresh(const std::string& base);
  // The same among node names (a separate namespace in plangrad).
  std::string fresh_node(const std::string& base);
  void reserve(const std::string& name) { names_.insert(name); }
  // The plangrad value for a constant used as a parameter or state (`kind`); `tag` says how
  // its data was transformed (transposed, scaled), so that two different uses of one
  // initializer become two values. Non-finite data is refused.
  std::string declare(const Const& c, ValueKind kind, const std::string& tag, const std::string& base);
  // A graph input.
  void declare_input(const std::string& name, const Shape& shape);
  // Adds a plangrad node (its shapes inferred now, so a shape error names this ONNX node)
  // and returns its output value, named `out` (or fresh from the label when empty).
  std::string add(const std::string& op, const std::vector<std::string>& in, const Attrs& attrs,
                  const std::string& out = "", const std::string& node_name = "");

  std::map<std::string, Val>& values() { return values_; }
  std::int64_t fixed_batch = 0;  // a graph input's fixed first dimension, 0 when symbolic

 private:
  std::string source_, dir_;
  std::int64_t opset_;
  Model model_;
  std::map<std::string, Val> values_;
  std::map<std::string, Shape> shapes_;        // plangrad values' shapes
  std::set<std::string> names_;                // every value name taken
  std::set<std::string> node_names_;           // every node name taken
  std::map<std::string, std::string> declared_;  // initializer + tag -> plangrad value
  const onnx::NodeProto* node_ = nullptr;
  std::string label_;
  const std::set<std::string>* needed_ = nullptr;
};

// The node's first output's name: the plangrad value its last plangrad node makes.
inline std::string out_name(const Importer& im) {
  return im.node().output_size() > 0 ? im.node().output(0) : std::string();
}

}  // namespace plangrad::onnx_import
