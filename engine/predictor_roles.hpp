/// \file
/// What a Predictor (engine/predictor.hpp) feeds and reads of a graph: the one input its
/// examples go to and the per-example output it returns, found by convention or named.
#pragma once

#include <cstddef>
#include <string>

#include "core/graph.hpp"

namespace plangrad {

/// Which values a Predictor feeds and reads; empty: found by convention.
struct PredictorOptions {
  /// The graph input the examples are fed to. Empty: the one input the output depends on.
  std::string input;
  /// The value predict() returns. Empty: the graph's one declared output that is per example
  /// (its first dimension the batch) and computed from one input alone, so not a loss and
  /// nothing else that needs the labels.
  std::string output;
};

/// The input and output a Predictor uses, found (predictor_roles), and their sizes.
struct PredictorRoles {
  /// The input's name
  std::string input, output;  ///< the output's name
  std::size_t input_size = 0;   ///< floats per example: the input's dimensions after N
  std::size_t output_size = 0;  ///< floats per example of the output
  std::size_t columns = 0;      ///< C when the output is [N, C]; 0 for any other rank
};

/// The roles in `graph`. A UsageError, naming the candidates or what is wrong with the named
/// values, when the input or the output is ambiguous, missing or not per example: the
/// input's shape must be [N, ...] with N the symbolic batch (kBatchDim) nowhere else, the
/// output's [N, ...] at every batch size, and the output must depend on the input and on no
/// other input.
PredictorRoles predictor_roles(const Graph& graph, const PredictorOptions& options);

/// `graph` with one node more, reading roles.output ([N, C]): a softmax when C >= 2, a
/// sigmoid for one logit. Its output, under a name the graph does not use, is the graph's
/// one output and goes to `*value`.
Graph with_probabilities(const Graph& graph, const PredictorRoles& roles, std::string* value);

}  // namespace plangrad
