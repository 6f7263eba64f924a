// Per-feature standardization inside the graph (scikit-learn's StandardScaler as a node),
// so that a saved model carries the statistics of the data it was trained on:
//   standardize(x [..., F], mean [F], std [F]) -> y [..., F]
//     inverse 0 (default): y = (x - mean) / std   features into the network
//     inverse 1:           y = x * std + mean     a regression output back into the
//                                                 target's units
// mean and std are state values (no gradient flows to them); a model file's std must be
// positive and a normal float, its mean finite (check_data).
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& standardize_op();

}  // namespace plangrad
