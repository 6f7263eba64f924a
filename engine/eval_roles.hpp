// The value conventions of `plangrad eval` and `plangrad train` (docs/cli.md): which graph
// values play which part, so that any model file that follows them can be evaluated and
// trained without naming its values:
//   images  the one input of shape [N, features] or [N, C, H, W]; a batch is fed as
//           N rows of `features` floats (C*H*W for images: the same memory)
//   labels  the one input of shape [N]: class indices as floats (for one logit: 0 or 1)
//   loss    the graph's first scalar output; when the graph declares none, the output of
//           its only softmax_cross_entropy node
//   logits  the [N, classes] input of the softmax_cross_entropy node that computes the
//           loss; for any other loss, the graph's one non-scalar output, which may be
//           [N, 1]: one logit (binary cross-entropy; engine/evaluate.hpp: predicted_class)
// N is the symbolic batch ("N" in a model file). A graph that does not fit is a
// UsageError naming what was expected and what the graph has.
#pragma once

#include <cstddef>
#include <string>

#include "core/model.hpp"
#include "datasets/idx.hpp"
#include "engine/evaluate.hpp"

namespace plangrad {

// The roles (input: the images, target: the labels) and what the graph says about them.
struct EvalRoles : ValueRoles {
  Shape input_shape;         // as declared: kBatchDim first
  std::size_t features = 0;  // floats per example: the product of input_shape[1:]
  std::size_t columns = 0;   // the logits' second dimension
  std::size_t classes = 0;   // the classes the logits tell apart: classes_of(columns)
};

EvalRoles eval_roles(const Graph& graph);

// A UsageError unless images of rows x cols are what the model's image input takes, not
// merely as many floats: [N, rows*cols] or [N, 1, rows, cols].
void check_image_shape(const EvalRoles& roles, std::size_t rows, std::size_t cols);

// The IDX set in `dir` (MNIST's file names, datasets/idx.hpp: load_mnist_dir) for a model
// with these roles: its images checked against the model's image input, its labels
// against the model's classes (a DataError naming the file for a label that is not one).
ImageSet load_image_set(const std::string& dir, Split split, const EvalRoles& roles);

}  // namespace plangrad
