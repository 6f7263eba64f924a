// winograd: 3x3 stride-1 convolutions of float plans by Winograd's F(2x2, 3x3): in
// Eval-mode inference plans as a graph rewrite after fold_batchnorm (winograd), in plans
// with a backward as a change of the convolution's op (winograd_training); make_plan runs
// them unless PlanRequest::winograd is false:
//
//   index_graph -> toposort -> prune -> fold_batchnorm -> winograd | winograd_training
//   -> infer_shapes -> ...
#pragma once

#include <vector>

#include "core/visibility.hpp"
#include "planner/indexed_graph.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

// A rewritten graph and the order to run it in.
struct WinogradGraph {
  IndexedGraph graph;
  std::vector<int> order;
  int rewritten = 0;  // convolutions given to conv2d_winograd (or conv2d_by_winograd)
};

// Every conv2d node of `order` that winograd_applies to (ops/conv2d_winograd.hpp: a 3x3
// window, stride 1, 8 channels and 8 filters or more, 128 outputs per filter or more over
// the batch; `shapes` is infer_shapes' of `order`) becomes two:
//   conv2d(x, w, b) -> y
// becomes
//   winograd_filters(w) -> <conv>/u          (a new node, named <conv>/winograd)
//   conv2d_winograd(x, <conv>/u, b) -> y     (the convolution's node, its name and padding)
// the filters' transform right before the convolution, at every run, from the live
// weights (or fold_batchnorm's folded ones). conv2d_nobias is left alone: fold_batchnorm
// gives the convolutions it folds a bias. The new value and node are appended (names made
// unique with a suffix if the graph has them already). Forward only: callers run it for
// plans without a backward.
WinogradGraph winograd(IndexedGraph g, std::vector<int> order, const std::vector<Shape>& shapes);

// For plans with a backward: every conv2d and conv2d_nobias node of `order` that
// winograd_trains applies to (winograd_applies' bounds, and padding of 2 or less) runs as
// conv2d_by_winograd or conv2d_nobias_by_winograd instead (ops/conv2d_winograd.hpp): the
// same node, inputs, attributes and gradients; its forward, dx and dw by F(2x2, 3x3), db
// by conv2d's kernel. The order is `order`.
WinogradGraph winograd_training(IndexedGraph g, const std::vector<int>& order, const std::vector<Shape>& shapes);

}  // namespace plangrad
PLANGRAD_PUBLIC_END
