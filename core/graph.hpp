/// \file
/// The graph IR: named values and named nodes. A Graph is plain data, as written by the
/// builder or read from JSON; the planner validates and indexes it (planner/passes.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/tensor.hpp"

namespace plangrad {

/// One attribute's value: an integer, a number, a string or a list of integers.
using AttrValue = std::variant<std::int64_t, double, std::string, std::vector<std::int64_t>>;

/// Node attributes by name. Lookups take a string_view and never allocate, so kernels may
/// read attributes on the hot path.
class Attrs {
 public:
  Attrs() = default;  ///< no attributes
  /// From {name, value} pairs: `{{"stride", std::int64_t{2}}, {"padding", std::int64_t{1}}}`.
  Attrs(std::initializer_list<std::pair<const std::string, AttrValue>> init) : items_(init) {}

  /// Sets (or replaces) the attribute `name`.
  void set(std::string name, AttrValue value) { items_[std::move(name)] = std::move(value); }
  /// Whether the attribute `name` is there.
  bool has(std::string_view name) const { return items_.find(name) != items_.end(); }
  /// The attribute `name`, or nullptr.
  const AttrValue* find(std::string_view name) const;

  /// Typed getters; a missing or ill-typed attribute is a GraphError naming it.
  std::int64_t get_int(std::string_view name) const;
  /// A float attribute (a GraphError as get_int's); an int attribute reads as a float too.
  double get_float(std::string_view name) const;
  /// A string attribute (a GraphError as get_int's).
  const std::string& get_string(std::string_view name) const;
  /// A list-of-integers attribute (a GraphError as get_int's).
  const std::vector<std::int64_t>& get_ints(std::string_view name) const;

  /// Every attribute, by name.
  const std::map<std::string, AttrValue, std::less<>>& items() const { return items_; }
  /// The same names with the same values.
  bool operator==(const Attrs& other) const { return items_ == other.items_; }

 private:
  std::map<std::string, AttrValue, std::less<>> items_;
};

/// A value as text, for messages: 3, 0.5, "same" (quoted), [2, 2].
std::string attr_str(const AttrValue& value);

/// What a declared value is (ValueDecl): fed by the caller at every run (Input), trained
/// (Parameter), or kept but not trained (State, batchnorm's running statistics); the model
/// owns parameters and state.
enum class ValueKind { Input, Parameter, State };
/// "input", "parameter", "state".
const char* kind_name(ValueKind kind);

/// A value that no node produces: a graph input, a trainable parameter, or persistent
/// state (batchnorm running statistics). Intermediate values are node outputs and carry
/// no declaration; their shapes are inferred.
struct ValueDecl {
  std::string name;                   ///< unique among the graph's values
  ValueKind kind = ValueKind::Input;  ///< input, parameter or state
  Shape shape;  ///< inputs may use kBatchDim for the batch dimension
};

/// One op applied to named values, producing named values.
struct Node {
  std::string name;                  ///< unique among the graph's nodes
  std::string op;                    ///< a registered op's name (ops/op.hpp: find_op)
  std::vector<std::string> inputs;   ///< value names
  std::vector<std::string> outputs;  ///< names of the values this node produces
  Attrs attrs;                       ///< the op's attributes, as given (defaults not filled in)
};

/// Declared values and the nodes between them, in any order (the planner sorts them).
struct Graph {
  std::vector<ValueDecl> values;     ///< inputs, parameters and state
  std::vector<Node> nodes;           ///< the ops
  std::vector<std::string> outputs;  ///< the values a user asks for by default (loss, logits)

  /// The declared value `name`, or nullptr (also for a node output, which is not declared).
  const ValueDecl* find_value(std::string_view name) const;
  /// The node `name`, or nullptr.
  const Node* find_node(std::string_view name) const;
};

}  // namespace plangrad
