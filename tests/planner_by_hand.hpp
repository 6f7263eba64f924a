// The planner's structures built by hand, for the tests of one pass at a time: an
// IndexedGraph filled a value and a node at a time, steps of each kind, and ops registered
// for these tests only (several outputs; scratch memory; a bias op whose backward reads x).
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "ops/op.hpp"
#include "planner/passes.hpp"

namespace Catch {
template <>
struct StringMaker<plangrad::Interval> {
  static std::string convert(const plangrad::Interval& iv) {
    return "{" + std::to_string(iv.first) + ", " + std::to_string(iv.last) + "}";
  }
};
}  // namespace Catch

namespace plangrad::testing {

// An IndexedGraph as index_graph fills one, built a value and a node at a time.
struct HandGraph {
  IndexedGraph g;

  int value(const std::string& name, ValueRole role = ValueRole::Intermediate, Shape declared = {}) {
    const int v = static_cast<int>(g.values.size());
    g.values.push_back({name, role, std::move(declared), -1});
    g.value_index[name] = v;
    return v;
  }
  // A node of the registered op `op`; it becomes its outputs' producer.
  int node(const std::string& name, const std::string& op, std::vector<int> inputs, std::vector<int> outputs,
           const Attrs& attrs = {}) {
    const int n = static_cast<int>(g.nodes.size());
    const OpDef& def = find_op(op);
    for (int v : outputs) g.values[static_cast<std::size_t>(v)].producer = n;
    g.nodes.push_back({name, &def, std::move(inputs), std::move(outputs), normalize_attrs(def, name, attrs)});
    return n;
  }
};

inline Step forward_step(int node, std::vector<int> in, std::vector<int> out) {
  Step s;
  s.kind = StepKind::Forward;
  s.node = node;
  s.in = std::move(in);
  s.out = std::move(out);
  return s;
}

inline Step backward_step(int node, std::vector<int> in, std::vector<int> out, std::vector<int> d_out,
                          std::vector<int> d_in, std::vector<char> accumulate = {}) {
  Step s;
  s.kind = StepKind::Backward;
  s.node = node;
  s.in = std::move(in);
  s.out = std::move(out);
  s.d_out = std::move(d_out);
  s.accumulate = accumulate.empty() ? std::vector<char>(d_in.size(), 0) : std::move(accumulate);
  s.d_in = std::move(d_in);
  return s;
}

inline Step fill_step(int target) {
  Step s;
  s.kind = StepKind::Fill;
  s.target = target;
  s.fill_value = 1.0f;
  return s;
}

inline Step update_step(int parameter, int grad) {
  Step s;
  s.kind = StepKind::Update;
  s.target = parameter;
  s.grad = grad;
  return s;
}

// Registers the test ops once:
//  - "test_split": x -> (x, x), two outputs;
//  - "test_scratch": y = x with a workspace of 2 * |x| elements and 3 saved elements;
//  - "test_bias_reads_x": add_bias whose backward reads x (what a fused step's liveness
//    must take from the bias op, not from the activation).
inline void register_test_ops() {
  static const bool done = [] {
    auto copy32 = [](const OpArgs<float>& a) { std::copy(a.in[0].begin(), a.in[0].end(), a.out[0].data); };
    auto copy64 = [](const OpArgs<double>& a) { std::copy(a.in[0].begin(), a.in[0].end(), a.out[0].data); };
    auto nothing32 = [](const OpArgs<float>&) {};
    auto nothing64 = [](const OpArgs<double>&) {};
    {
      OpDef d;
      d.name = "test_split";
      d.inputs = {"x"};
      d.outputs = {"a", "b"};
      d.shape = [](const std::vector<Shape>& in, const Attrs&) { return std::vector<Shape>{in[0], in[0]}; };
      d.differentiable = {true};
      d.backward_reads_in = {false};
      d.backward_reads_out = {false, false};
      d.f32 = {nothing32, nothing32};
      d.f64 = {nothing64, nothing64};
      register_op(std::move(d));
    }
    {
      OpDef d;
      d.name = "test_scratch";
      d.inputs = {"x"};
      d.outputs = {"y"};
      d.shape = [](const std::vector<Shape>& in, const Attrs&) { return std::vector<Shape>{in[0]}; };
      d.differentiable = {true};
      d.backward_reads_in = {false};
      d.backward_reads_out = {false};
      d.workspace = [](const std::vector<Shape>& in, const Attrs&) { return 2 * numel(in[0]); };
      d.saved = [](const std::vector<Shape>&, const Attrs&) { return std::size_t{3}; };
      d.f32 = {copy32, nothing32};
      d.f64 = {copy64, nothing64};
      register_op(std::move(d));
    }
    {
      OpDef d = find_op("add_bias");
      d.name = "test_bias_reads_x";
      d.backward_reads_in = {true, false};
      register_op(std::move(d));
    }
    return true;
  }();
  (void)done;
}

}  // namespace plangrad::testing
