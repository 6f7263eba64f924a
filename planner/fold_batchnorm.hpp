// fold_batchnorm: an Eval-mode batchnorm folded into the convolution before it, as a graph
// rewrite between prune and infer_shapes (make_plan runs it for Eval-mode inference plans
// unless PlanRequest::fold_batchnorm is false):
//
//   index_graph -> toposort -> prune -> fold_batchnorm -> infer_shapes -> ...
#pragma once

#include <vector>

#include "core/visibility.hpp"
#include "planner/indexed_graph.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

// A rewritten graph and the order to run it in.
struct FoldedGraph {
  IndexedGraph graph;
  std::vector<int> order;
  int folded = 0;  // batchnorm nodes folded away
};

// Every batchnorm node of `order` whose input x is the output y of a conv2d or
// conv2d_nobias node, where no other node of `order` reads y and `keep` does not hold it,
// is folded into that convolution:
//   conv(x, w[, b]) -> y;  batchnorm(y, gamma, beta, mean, var) -> z
// becomes
//   fold_conv[_nobias]_bn(w[, b], gamma, beta, mean, var) -> (<bn>/w, <bn>/b)   (node: the batchnorm's name)
//   conv2d(x, <bn>/w, <bn>/b) -> z                                              (node: the convolution's name)
// (ops/fold_batchnorm.hpp), both at the batchnorm's place in the order: the folded weights
// are computed from the live parameters and running statistics at every run. The
// convolution's node index holds the fold and the batchnorm's the conv2d, so z keeps its
// producer; y is left with none and no node reads it. The two new values are appended
// (names made unique with a suffix if the graph has them already). The batchnorm's Eval
// formula only: callers run it for Eval-mode plans without a backward.
FoldedGraph fold_batchnorm(IndexedGraph g, std::vector<int> order, const std::vector<int>& keep);

}  // namespace plangrad
PLANGRAD_PUBLIC_END
