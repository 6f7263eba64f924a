// The built-in example graphs that `plangrad plan` and `plangrad dot` offer with
// --builtin NAME, so that a plan or a picture needs no model file.
#pragma once

#include <cstdint>
#include <string>

#include "core/model.hpp"

namespace plangrad::models {

// "circle, circle-bn, residual, mlp8x256, mnist-mlp, mnist-cnn or fashion-resnet", for help
// texts and errors.
const char* builtin_names();

// The graph of a built-in example; an unknown name is a UsageError listing the names.
Graph builtin_graph(const std::string& name);

// The same with parameters and state initialized from `seed`.
Model builtin_model(const std::string& name, std::uint64_t seed);

}  // namespace plangrad::models
