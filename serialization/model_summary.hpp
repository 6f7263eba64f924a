// Human-readable views of a model, for `plangrad inspect` and `plangrad dot`: a table of
// nodes with their output shapes and parameter counts, and a Graphviz DOT graph.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/visibility.hpp"

namespace plangrad {

// Every value's shape with a batch-dependent dimension shown as kBatchDim ("N"): shapes
// are inferred at two nominal batch sizes and the dimensions that differ depend on it.
// Throws the planner's GraphError / ShapeError for an invalid graph.
//
// symbolic_shapes and default_inference_outputs are exported from a shared libplangrad
// although they are not public API: plangrad::onnx, a library of its own, calls them.
PLANGRAD_PUBLIC_BEGIN
std::map<std::string, Shape> symbolic_shapes(const Graph& graph);

// The values an inference plan of `graph` computes when none are named (`plangrad plan
// --kind inference`, `plangrad export-onnx`): the graph's outputs that are not scalars (the
// predictions, not the losses), else all of them. `shapes` is symbolic_shapes(graph).
std::vector<std::string> default_inference_outputs(const Graph& graph, const std::map<std::string, Shape>& shapes);
PLANGRAD_PUBLIC_END

// One line per node (in execution order): name, op, output shapes, parameter count; then
// the inputs and totals (parameters and their bytes, state).
std::string model_table(const Model& model);

// Graphviz DOT: inputs, parameters and state as distinct shapes, nodes labelled
// "op\nname", edges labelled with the shape of the value they carry.
std::string model_dot(const Model& model);

}  // namespace plangrad
