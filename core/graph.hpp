// The graph IR: named values and named nodes. A Graph is plain data, as written by the
// builder or read from JSON; the planner validates and indexes it (planner/passes.hpp).
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

using AttrValue = std::variant<std::int64_t, double, std::string, std::vector<std::int64_t>>;

// Node attributes by name. Lookups take a string_view and never allocate, so kernels may
// read attributes on the hot path.
class Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<const std::string, AttrValue>> init) : items_(init) {}

  void set(std::string name, AttrValue value) { items_[std::move(name)] = std::move(value); }
  bool has(std::string_view name) const { return items_.find(name) != items_.end(); }
  const AttrValue* find(std::string_view name) const;

  // Typed getters; a missing or ill-typed attribute is a GraphError naming it.
  std::int64_t get_int(std::string_view name) const;
  double get_float(std::string_view name) const;  // an int attribute reads as a float too
  const std::string& get_string(std::string_view name) const;
  const std::vector<std::int64_t>& get_ints(std::string_view name) const;

  const std::map<std::string, AttrValue, std::less<>>& items() const { return items_; }
  bool operator==(const Attrs& other) const { return items_ == other.items_; }

 private:
  std::map<std::string, AttrValue, std::less<>> items_;
};

std::string attr_str(const AttrValue& value);

enum class ValueKind { Input, Parameter, State };
const char* kind_name(ValueKind kind);

// A value that no node produces: a graph input, a trainable parameter, or persistent
// state (batchnorm running statistics). Intermediate values are node outputs and carry
// no declaration; their shapes are inferred.
struct ValueDecl {
  std::string name;
  ValueKind kind = ValueKind::Input;
  Shape shape;  // inputs may use kBatchDim for the batch dimension
};

struct Node {
  std::string name;
  std::string op;
  std::vector<std::string> inputs;   // value names
  std::vector<std::string> outputs;  // names of the values this node produces
  Attrs attrs;
};

struct Graph {
  std::vector<ValueDecl> values;
  std::vector<Node> nodes;
  std::vector<std::string> outputs;  // the values a user asks for by default (loss, logits)

  const ValueDecl* find_value(std::string_view name) const;
  const Node* find_node(std::string_view name) const;
};

}  // namespace plangrad
