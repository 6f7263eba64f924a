// evaluate: a classifier's accuracy and mean loss over a labelled data set, run through
// inference plans in Eval mode (batchnorm uses its running statistics) batch by batch.
//
// Which graph values play which part (eval_roles), so that any model file that follows
// these conventions can be evaluated without naming its values:
//   images  the one input of shape [N, features] or [N, C, H, W]; a batch is fed as
//           N rows of `features` floats (C*H*W for images: the same memory)
//   labels  the one input of shape [N]: class indices as floats
//   loss    the graph's first scalar output; when the graph declares none, the output of
//           its only softmax_cross_entropy node
//   logits  the [N, classes] input of the softmax_cross_entropy node that computes the
//           loss; for any other loss, the graph's one non-scalar output
// N is the symbolic batch ("N" in a model file). A graph that does not fit is a
// UsageError naming what was expected and what the graph has.
#pragma once

#include <cstddef>
#include <string>

#include "core/model.hpp"

namespace plangrad {

struct EvalRoles {
  std::string images, labels, logits, loss;
  Shape image_shape;          // as declared: kBatchDim first
  std::size_t features = 0;   // floats per example: the product of image_shape[1:]
  std::size_t classes = 0;    // logits' second dimension
};

EvalRoles eval_roles(const Graph& graph);

// A UsageError unless images of rows x cols are what the model's image input takes, not
// merely as many floats: [N, rows*cols] or [N, 1, rows, cols].
void check_image_shape(const EvalRoles& roles, std::size_t rows, std::size_t cols);

struct EvalResult {
  double accuracy = 0.0;  // correct / count
  double loss = 0.0;      // the mean of the per-example losses (batches weighted by size)
  std::size_t count = 0;
  std::size_t correct = 0;  // the logits' argmax (the first, on ties) equals the label
};

// images: n * features floats, example after example; labels: n class indices as floats.
// Full batches of `batch` run through one plan, a last partial batch through a second.
// The model is only read: an inference plan in Eval mode writes no parameter or state.
// n == 0 or batch == 0 is a UsageError; a label that is not a class is the loss op's
// DataError.
EvalResult evaluate(const Model& model, const float* images, const float* labels, std::size_t n,
                    std::size_t batch);

}  // namespace plangrad
